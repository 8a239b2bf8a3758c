#!/usr/bin/env node
// A complete, minimal crmproof adapter in Node.js (20+), with no dependencies.
//
// It speaks the crmproof adapter protocol (one JSON object per line on stdin/stdout) and
// drives a real Tryton server through its JSON-RPC API. It supports one canonical
// entity, `account` (a Tryton party), with create/get/update/delete/find on the fields
// `name` and `email` (the party's first e-mail contact mechanism). Everything else it
// answers `unsupported`, as the protocol asks.
//
// Read docs/writing-an-adapter.md first; this file follows it section by section.

import { createInterface } from "node:readline";

const VERSION = "0.1.0";
const FIELDS = ["name", "email"];
const PARTY = "party.party";

// -- the protocol: one line in, one line out ------------------------------------------

function send(message) {
  // stdout carries protocol messages only; diagnostics go to stderr.
  process.stdout.write(JSON.stringify(message) + "\n");
}

const hello = {
  kind: "hello",
  protocol: 3,
  name: "tryton-node",
  version: VERSION,
  channel: "api",
  capabilities: {
    entities: {
      account: {
        operations: ["create", "get", "update", "delete", "find"],
        fields: FIELDS,
        stages: [],
      },
    },
    operations: [],
    actors: [],
  },
};

// An outcome's status says who is to blame when something is not done:
//   refused     the vendor said no (not found, a business rule): a fact about this record
//   unsupported the vendor (or this adapter) cannot do it at all: a fact about the product
//   error       something broke (network, a bug): says nothing about the product
class Refused extends Error {}
class Unsupported extends Error {}

function outcome(status, fields = {}) {
  return { kind: "outcome", status, created: [], evidence: [], ...fields };
}

// -- Tryton JSON-RPC -------------------------------------------------------------------

class Tryton {
  constructor({ url, database, user, password }) {
    for (const [key, value] of Object.entries({ url, database, user, password })) {
      if (!value) throw new Refused(`the setting '${key}' is missing`);
    }
    this.url = String(url).replace(/\/+$/, "");
    this.database = database;
    this.user = user;
    this.password = password;
    this.session = null;
    this.context = {};
    this.nextId = 1;
  }

  async post(path, method, params) {
    const headers = { "Content-Type": "application/json" };
    if (this.session) headers.Authorization = `Session ${this.session}`;
    let response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ id: this.nextId++, method, params }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new Error(`Tryton could not be reached for ${method}: ${err.message}`);
    }
    if (response.status === 401 || response.status === 403) return { unauthorized: true };
    if (!response.ok) throw new Error(`Tryton answered HTTP ${response.status} to ${method}`);
    const answer = await response.json();
    if (answer.error) {
      const [kind, args] = answer.error;
      if (kind === "UserError") throw new Refused([args[0], args[1]].filter(Boolean).join(" "));
      throw new Error(`Tryton failed on ${method}: ${kind}`);
    }
    return { result: answer.result };
  }

  async login() {
    this.session = null;
    const answer = await this.post(`/${this.database}/rpc/`, "common.db.login", [
      this.user,
      { password: this.password },
      "en",
    ]);
    if (answer.unauthorized) throw new Refused(`Tryton refused the login of '${this.user}'`);
    const [uid, token] = answer.result;
    this.session = Buffer.from(`${this.user}:${uid}:${token}`).toString("base64");
    this.context = await this.rpc("model.res.user.get_preferences", [true, {}]);
  }

  async version() {
    const answer = await this.post("/rpc/", "common.server.version", []);
    return `Tryton ${answer.result}`;
  }

  // One call on the database, logging in again once if the session has expired.
  async rpc(method, params) {
    let answer = await this.post(`/${this.database}/rpc/`, method, params);
    if (answer.unauthorized) {
      await this.login();
      answer = await this.post(`/${this.database}/rpc/`, method, params);
      if (answer.unauthorized) throw new Refused(`Tryton refused ${method} for this user`);
    }
    return answer.result;
  }

  // `model.<model>.<method>(...args, context)`: every model call ends with the context.
  model(model, method, ...args) {
    return this.rpc(`model.${model}.${method}`, [...args, this.context]);
  }
}

// -- the account entity ----------------------------------------------------------------

const READ = ["name", "contact_mechanisms.type", "contact_mechanisms.value"];

function partyId(id) {
  if (!/^\d+$/.test(String(id ?? ""))) throw new Refused(`no account with id ${id}`);
  return Number(id);
}

function rejectUnknown(data) {
  const unknown = Object.keys(data).filter((k) => !FIELDS.includes(k) && k !== "id");
  if (unknown.length) throw new Unsupported(`this adapter does not map ${unknown.join(", ")}`);
}

function toRecord(row) {
  const email = (row["contact_mechanisms."] || []).find((m) => m.type === "email");
  return { id: String(row.id), name: row.name, email: email ? email.value : null };
}

class Accounts {
  constructor(tryton) {
    this.tryton = tryton;
  }

  async read(id) {
    const rows = await this.tryton.model(PARTY, "search_read", [["id", "=", id]], 0, 1, null, READ);
    if (!rows.length) throw new Refused(`no account with id ${id}`);
    return rows[0];
  }

  async create(op) {
    rejectUnknown(op.data);
    if (!op.data.name) throw new Refused("a Tryton party needs a name");
    const values = { name: op.data.name };
    if (op.data.email) {
      values.contact_mechanisms = [["create", [{ type: "email", value: op.data.email }]]];
    }
    const [id] = await this.tryton.model(PARTY, "create", [values]);
    // Report what was created, so the runner can delete it after the scenario.
    const created = [{ entity: "account", id: String(id) }];
    return { record: toRecord(await this.read(id)), created };
  }

  async get(op) {
    return { record: toRecord(await this.read(partyId(op.id))) };
  }

  async update(op) {
    rejectUnknown(op.data);
    const id = partyId(op.id);
    const row = await this.read(id);
    const values = {};
    if ("name" in op.data) values.name = op.data.name;
    if ("email" in op.data) {
      const current = (row["contact_mechanisms."] || []).filter((m) => m.type === "email");
      const email = op.data.email;
      if (email && current.length) {
        values.contact_mechanisms = [["write", [current[0].id], { value: email }]];
      } else if (email) {
        values.contact_mechanisms = [["create", [{ type: "email", value: email }]]];
      } else if (current.length) {
        values.contact_mechanisms = [["delete", current.map((m) => m.id)]];
      }
    }
    if (Object.keys(values).length) await this.tryton.model(PARTY, "write", [id], values);
    return { record: toRecord(await this.read(id)) };
  }

  async delete(op) {
    const id = partyId(op.id);
    const found = await this.tryton.model(PARTY, "search", [["id", "=", id]], 0, 1, null);
    if (!found.length) {
      // A cleanup of a record that is already gone is done, not refused.
      if (op.cleanup) return { record: { id: String(id) } };
      throw new Refused(`no account with id ${id}`);
    }
    await this.tryton.model(PARTY, "delete", [id]);
    return { record: { id: String(id) } };
  }

  async find(op) {
    rejectUnknown(op.where);
    const domain = [];
    for (const [field, value] of Object.entries(op.where)) {
      if (field === "id") domain.push(["id", "=", partyId(value)]);
      if (field === "name") domain.push(["name", "=", value]);
      if (field === "email") {
        domain.push(["contact_mechanisms", "where", [["type", "=", "email"], ["value", "=", value]]]);
      }
    }
    const rows = await this.tryton.model(PARTY, "search_read", domain, 0, null, [["id", "ASC"]], READ);
    return { records: rows.map(toRecord) };
  }
}

// -- requests to replies -------------------------------------------------------------

let tryton = null;
let accounts = null;

async function perform(op) {
  const declared = hello.capabilities.entities[op.entity]?.operations ?? [];
  if (!accounts || !declared.includes(op.op) || op.actor) {
    const what = op.entity ? `${op.op} ${op.entity}` : op.op;
    return outcome("unsupported", { message: `tryton-node cannot ${what}` });
  }
  try {
    return outcome("ok", await accounts[op.op](op));
  } catch (err) {
    if (err instanceof Refused) return outcome("refused", { message: err.message });
    if (err instanceof Unsupported) return outcome("unsupported", { message: err.message });
    return outcome("error", { message: `adapter error: ${err.message}` });
  }
}

async function handle(message) {
  switch (message.kind) {
    case "open":
      tryton = new Tryton(message.settings);
      await tryton.login();
      accounts = new Accounts(tryton);
      return { kind: "opened", vendor_version: await tryton.version() };
    case "begin":
      // `marker` is what ${run.id} reads in this scenario. A UI adapter leaves it out of
      // the keystrokes it counts (no user types it); an API adapter counts no effort.
      return { kind: "ack" };
    case "perform":
      return perform(message);
    case "end":
      return { kind: "ended", evidence: [] };
    case "close":
      return { kind: "ack" };
    default:
      return { kind: "error", message: `'${message.kind}' is not a request an adapter answers` };
  }
}

send(hello);
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    send({ kind: "error", message: "not JSON" });
    continue;
  }
  try {
    send(await handle(message));
  } catch (err) {
    // The request could not be handled at all (a login failed, say): say so, keep going.
    send({ kind: "error", message: err.message });
  }
  if (message.kind === "close") break;
}
process.exit(0);
