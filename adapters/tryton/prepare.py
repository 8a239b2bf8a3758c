"""The business set-up of a fresh Tryton database, run once by the sandbox's own python.

Usage: python prepare.py <trytond.conf> <database> [<login>:<password-file> ...]

Each login:password-file pair becomes a sales rep, a second actor for scenarios.

Runs with proteus in direct mode (no server), so it lives outside the adapter package's
imports: only the sandbox venv has trytond. Tryton's own test helpers
(`trytond.modules.<module>.tests.tools`) do the parts that need wizards, so this stays in
step with how Tryton itself sets up a company for its scenarios.
"""

from __future__ import annotations

import datetime
import sys
from decimal import Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta
from proteus import Model, config
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.currency.tests.tools import get_currency

PRODUCTS = [
    # code, name, type, unit (ir.model.data id in product), list price
    ("SERVICE-HOURS", "Consulting services", "service", "uom_hour", "150.00"),
    ("LICENSE", "Software licence (annual)", "service", "uom_unit", "1200.00"),
    ("HARDWARE", "Appliance", "goods", "uom_unit", "899.00"),
]


def set_up_company(cfg: config.Config) -> object:
    """The company, and an employee for the admin (an opportunity needs one)."""
    party_model = Model.get("party.party")
    company_party = party_model(name="Crmproof Demo Ltd")
    company_party.save()
    create_company(company_party, get_currency("USD"))
    company = get_company()
    employee_model = Model.get("company.employee")
    user_model = Model.get("res.user")
    person = party_model(name="Ada Admin")
    person.save()
    employee = employee_model(party=person, company=company)
    employee.save()
    admin = user_model(cfg.user)
    admin.employees.append(employee)
    admin.employee = employee
    admin.save()
    cfg._context = user_model.get_preferences(True, {})
    return company


def set_up_accounting(company: object) -> None:
    """Chart of accounts, three calendar fiscal years with monthly periods, terms."""
    create_chart(company)
    this_year = datetime.date.today().year
    for year in range(this_year - 1, this_year + 2):
        start = datetime.date(year, 1, 1)
        fiscalyear = create_fiscalyear(company, (start, start + relativedelta(years=1, days=-1)))
        fiscalyear.name = str(year)
        fiscalyear.move_sequence.name = str(year)
        fiscalyear.move_sequence.save()
        set_fiscalyear_invoice_sequences(fiscalyear)
        fiscalyear.click("create_period")
    # Tryton ships the usual payment terms; invoices fall back to paying on receipt.
    term_model = Model.get("account.invoice.payment_term")
    (upon_receipt,) = term_model.find([("name", "=", "Upon Receipt")], limit=1)
    configuration = Model.get("account.configuration")(1)
    configuration.default_customer_payment_term = upon_receipt
    configuration.save()
    # Let a posted customer invoice be cancelled (by a reversing move), as cleanup needs.
    company.cancel_invoice_out = True
    company.save()
    # How a customer's payment is recorded: the invoice's Pay wizard needs a method.
    accounts = get_accounts(company)
    (cash_journal,) = Model.get("account.journal").find([("code", "=", "CASH")], limit=1)
    Model.get("account.invoice.payment.method")(
        name="Cash",
        journal=cash_journal,
        credit_account=accounts["cash"],
        debit_account=accounts["cash"],
    ).save()


def set_up_products(company: object) -> None:
    accounts = get_accounts(company)
    category = Model.get("product.category")(
        name="Sales",
        accounting=True,
        account_revenue=accounts["revenue"],
        account_expense=accounts["expense"],
    )
    category.save()
    uom_model = Model.get("product.uom")
    data_model = Model.get("ir.model.data")
    template_model = Model.get("product.template")
    for code, name, kind, unit, price in PRODUCTS:
        uom = uom_model(data_model.get_id("product", unit, {}))
        template = template_model(
            name=name,
            code=code,
            type=kind,
            default_uom=uom,
            list_price=Decimal(price),
            salable=True,
            sale_uom=uom,
            account_category=category,
        )
        template.save()


def set_up_relations() -> None:
    """A "Contact" party category and relation types, so a person can work for an account.

    Tryton keeps organisations and people alike as parties; the category is how the adapter
    tells a contact from an account.
    """
    Model.get("party.category")(name="Contact").save()
    type_model = Model.get("party.relation.type")
    works_for = type_model(name="Works for")
    works_for.save()
    employs = type_model(name="Employs", reverse=works_for)
    employs.save()
    works_for.reverse = employs
    works_for.save()
    # A division of a customer group points at its group.
    division_of = type_model(name="Division of")
    division_of.save()
    has_division = type_model(name="Has division", reverse=division_of)
    has_division.save()
    division_of.reverse = has_division
    division_of.save()


def set_up_sales_options() -> None:
    """Complaint types (a case is a complaint) and one invoice per customer.

    A complaint needs a type, and a type names what a complaint may be about; these are
    the four of Tryton's own complaint scenario. New customers get the standard invoice
    grouping, so what they buy before their invoice is posted lands on one invoice.
    """
    type_model = Model.get("sale.complaint.type")
    ir_model = Model.get("ir.model")
    for name, origin in [
        ("Sale", "sale.sale"),
        ("Sale Line", "sale.line"),
        ("Invoice", "account.invoice"),
        ("Invoice Line", "account.invoice.line"),
    ]:
        (model,) = ir_model.find([("name", "=", origin)])
        type_model(name=name, origin=model).save()
    configuration = Model.get("sale.configuration")(1)
    configuration.sale_invoice_grouping_method = "standard"
    configuration.save()


def set_up_sales_user(company: object, login: str, password: str) -> None:
    """Another actor: a sales rep with the Sales and Opportunity groups only."""
    name = "Rep " + login.removeprefix("rep_").upper()
    person = Model.get("party.party")(name=name)
    person.save()
    employee = Model.get("company.employee")(party=person, company=company)
    employee.save()
    data_model = Model.get("ir.model.data")
    group_model = Model.get("res.group")
    groups = [
        group_model(data_model.get_id(module, xml_id, {}))
        for module, xml_id in [
            ("sale", "group_sale"),
            ("sale_opportunity", "group_opportunity"),
        ]
    ]
    user = Model.get("res.user")(login=login, name=name, password=password)
    user.groups.extend(groups)
    user.companies.append(Model.get("company.company")(company.id))
    user.company = company
    user.employees.append(employee)
    user.employee = employee
    user.save()


def finish_config_wizards() -> None:
    """Mark the first-login configuration wizards done, so a UI login goes straight in."""
    item_model = Model.get("ir.module.config_wizard.item")
    items = item_model.find([("state", "!=", "done")])
    for item in items:
        item.state = "done"
    item_model.save(items)


def main(conf: str, database: str, *reps: str) -> None:
    cfg = config.set_trytond(database=database, config_file=conf)
    company = set_up_company(cfg)
    set_up_accounting(company)
    set_up_products(company)
    set_up_relations()
    set_up_sales_options()
    for rep in reps:
        login, _, password_file = rep.partition(":")
        set_up_sales_user(company, login, Path(password_file).read_text().strip())
    finish_config_wizards()
    print("tryton business set-up done")


if __name__ == "__main__":
    main(*sys.argv[1:])
