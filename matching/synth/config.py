"""The knobs of the synthetic-export generator, with defaults that look like real dealer data.

Rates are probabilities in [0, 1]. Unless said otherwise a rate applies independently to
each *record* (so a customer with four records gets four chances of a typo), which is how
keying noise arises: each visit is typed in again by someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class GeneratorConfig:
    """Rates and shapes of the synthetic export. Every default is documented inline."""

    # --- who is in the export -------------------------------------------------------
    # Share of entities with 1, 2, ..., 10 records. Default: 60 % singletons, so 40 % of
    # customers have duplicates; 3.5 % have 5-10 records (loyal service customers seen by
    # several systems).
    records_per_entity: tuple[float, ...] = (
        0.60, 0.23, 0.09, 0.045, 0.015, 0.008, 0.005, 0.003, 0.002, 0.002
    )  # fmt: skip
    canada_share: float = 0.08  # customers living in Canada (whole households move together)
    home_state_share: float = 0.45  # US customers living in the dealer's home state
    # Shares of *groups* (a single customer is a group of one) that are multi-person groups.
    household_rate: float = 0.10  # families and roommates sharing an address, phone, e-mail, car
    roommate_share: float = 0.15  # households that are roommates (different last names)
    jr_sr_rate: float = 0.02  # father and son with the same first and last name
    twins_rate: float = 0.015  # twins with similar first names, same birth address
    fleet_rate: float = 0.008  # business accounts: a company and its drivers
    fleet_drivers: tuple[int, int] = (2, 8)  # drivers per fleet (inclusive range)
    common_name_rate: float = 0.005  # singles given a very common full name (John Smith)

    # --- shared evidence inside groups ------------------------------------------------
    shared_landline_rate: float = 0.6  # households / Jr-Sr / twins with a home landline
    family_email_rate: float = 0.3  # households sharing a family e-mail address
    shared_vehicle_rate: float = 0.3  # households (0.4 for Jr/Sr) sharing a car
    driver_company_address_rate: float = 0.7  # drivers registered at the company address
    driver_company_email_rate: float = 0.6  # drivers who use the company mailbox
    jr_suffix_shown_rate: float = 0.5  # records of the son that show "Jr" (often missing)
    sr_suffix_shown_rate: float = 0.3  # records of the father that show "Sr"

    # --- changes over time (per entity) ---------------------------------------------
    move_rate: float = 0.25  # singles who move (new street, often new city and ZIP)
    move_out_rate: float = 0.3  # grown children, sons and twins who leave the family home
    group_move_rate: float = 0.15  # households that move together
    new_phone_rate: float = 0.12  # people who get a new mobile number
    new_email_rate: float = 0.10  # people who switch to a new e-mail address
    marriage_rate: float = 0.05  # women whose last name changes during the period
    married_name_shown_rate: float = 0.85  # post-marriage records that use the new name
    resold_vin_rate: float = 0.02  # vehicles resold to an unrelated customer later on

    # --- name noise (per record) ----------------------------------------------------
    nickname_rate: float = 0.08  # Bob for Robert (only names with a known nickname)
    initial_rate: float = 0.02  # "J." for the first name
    first_typo_rate: float = 0.03
    last_typo_rate: float = 0.025
    swap_rate: float = 0.012  # first and last name swapped
    middle_in_first_rate: float = 0.03  # "MARY ANN" in first_name (when a middle exists)
    accent_kept_rate: float = 0.6  # records of accented names that keep the accent
    name_punctuation_loss_rate: float = 0.3  # O'Brien -> OBrien, De La Cruz -> Delacruz
    company_suffix_drop_rate: float = 0.35  # "Acme Plumbing" for "Acme Plumbing Inc"

    # --- phones, e-mails, addresses, VINs (per record or per value) -----------------
    phone_typo_rate: float = 0.01  # two adjacent digits swapped
    extension_rate: float = 0.4  # work phones shown with an extension
    email_case_rate: float = 0.05  # JOHN.SMITH@GMAIL.COM
    email_space_rate: float = 0.02  # leading or trailing blank
    gmail_dots_rate: float = 0.05  # dots added or removed in gmail addresses
    plus_tag_rate: float = 0.02  # jsmith+dealer@gmail.com
    email_domain_typo_rate: float = 0.01  # gmial.com
    address_typo_rate: float = 0.02
    zip4_rate: float = 0.12  # ZIP+4
    zip_zero_loss_rate: float = 0.3  # ZIPs starting with 0 that lost it in a spreadsheet
    state_name_rate: float = 0.05  # "California" for CA
    vin_typo_rate: float = 0.03  # O for 0, I for 1, transposition, wrong character
    vin_partial_rate: float = 0.03  # last 8 characters only
    vin_lower_rate: float = 0.02

    # --- missing values and placeholders (per record) ---------------------------------
    missing_first_rate: float = 0.02
    missing_last_rate: float = 0.01
    middle_shown_rate: float = 0.5  # records showing a middle name the person has (half as initial)
    missing_phone_rate: float = 0.08  # no phone at all
    second_phone_shown_rate: float = 0.45  # a second known phone is shown
    missing_email_rate: float = 0.30  # e-mail not captured
    second_email_shown_rate: float = 0.35
    missing_address_rate: float = 0.06
    missing_vin_rate: float = 0.10  # records without any vehicle (sales leads, walk-ins)
    na_token_rate: float = 0.12  # missing cells written as N/A, NONE, - ... instead of blank
    placeholder_email_rate: float = 0.04  # noemail@dealer.com and friends
    placeholder_phone_rate: float = 0.02  # the dealer's own number, 000-000-0000, ...

    # --- customer keys ---------------------------------------------------------------
    missing_key_rate: float = 0.05  # records without a DMS/CRM key (besides web leads)
    carried_key_rate: float = 0.10  # later records that carry the first record's key (CRM sync)
    shared_key_rate: float = 0.004  # records given a recycled key of an unrelated customer

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not 0.0 <= value <= 1.0:
                raise ValueError(f"GeneratorConfig.{f.name} must be in [0, 1], got {value}")
        if not self.records_per_entity or any(w < 0 for w in self.records_per_entity):
            raise ValueError("GeneratorConfig.records_per_entity needs non-negative weights")
        if sum(self.records_per_entity) <= 0:
            raise ValueError("GeneratorConfig.records_per_entity weights sum to zero")
        lo, hi = self.fleet_drivers
        if not 1 <= lo <= hi:
            raise ValueError(
                "GeneratorConfig.fleet_drivers must be (low, high) with 1 <= low <= high"
            )
        group_share = self.household_rate + self.jr_sr_rate + self.twins_rate + self.fleet_rate
        if group_share > 1.0:
            raise ValueError("household, jr_sr, twins and fleet rates add up to more than 1")
