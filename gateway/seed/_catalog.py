"""The demo world's fixed vocabulary: tenants, people, teams, campaigns, badges and the shape of a working day."""

from __future__ import annotations

from typing import Final

# (name, IANA zone, service level threshold in seconds). The second tenant sits on a half-hour offset so that
# even a two-tenant seed exercises non-whole-hour local days.
TENANTS: Final = (
    ("Acme Support", "America/New_York", 20),
    ("Globex Sales", "Asia/Kolkata", 30),
    ("Initech Care", "Europe/Berlin", 15),
    ("Umbrella Health Line", "Australia/Adelaide", 20),
    ("Stark Home Services", "America/Los_Angeles", 30),
    ("Wayne Mobility", "America/Sao_Paulo", 15),
    ("Hooli Connect", "Europe/London", 20),
    ("Cyberdyne Helpdesk", "Asia/Singapore", 30),
)

FIRST_NAMES: Final = (
    "Aisha", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kaja", "Liam",
    "Maya", "Nikhil", "Olivia", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Uma", "Victor", "Wen", "Ximena",
    "Yusuf", "Zoe", "Anders", "Bianca", "Chidi", "Daniela", "Emeka", "Fatima", "Gustavo", "Hannah", "Ivan",
    "Julia", "Kofi", "Lucia", "Mateo", "Nora", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Valentina",
    "William", "Yara", "Arjun", "Chloe", "Diego", "Freya", "Leila", "Marcus", "Noah", "Ravi", "Sara", "Theo",
)
LAST_NAMES: Final = (
    "Adams", "Bauer", "Chen", "Diaz", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Johansson", "Kowalski",
    "Lopez", "Mensah", "Novak", "Okafor", "Patel", "Quintero", "Rossi", "Schmidt", "Tanaka", "Uddin", "Varga",
    "Weber", "Xu", "Yilmaz", "Zhang", "Andersson", "Brown", "Costa", "Dubois", "Evans", "Ferreira", "Gupta",
    "Hughes", "Iyer", "Jensen", "Kim", "Larsen", "Moreau", "Nguyen", "Olsen", "Park", "Reyes", "Silva",
    "Thompson", "Usman", "Vogel", "Walsh", "Yamamoto", "Ahmed", "Becker", "Campbell", "Das", "Fernandes",
)
AI_NAMES: Final = (
    "Nova", "Atlas", "Echo", "Iris", "Orion", "Juno", "Vega", "Lyra", "Sol", "Kai", "Aria", "Rho",
)
TEAM_NAMES: Final = (
    "Inbound Care", "Outbound Sales", "Retention", "Billing Desk", "Tier 2 Support", "Onboarding", "Renewals",
    "Enterprise Desk", "Night Shift", "Partner Line", "Quality Squad", "Escalations",
)

# (name, channel, conversion multiplier). Channels map to the source of the leads a campaign brings in.
CAMPAIGNS: Final = (
    ("Spring Renewal Drive", "phone", 1.25),
    ("Webinar Follow-up", "email", 0.9),
    ("Search Ads - Brand", "web", 1.1),
    ("Referral Rewards", "referral", 1.6),
    ("Social Retargeting", "social", 0.6),
    ("SMS Flash Offer", "sms", 0.75),
    ("Win-back Calls", "phone", 0.8),
    ("Partner Co-marketing", "referral", 1.3),
    ("Trade Show Leads", "phone", 1.0),
    ("Newsletter Upsell", "email", 0.7),
    ("Comparison Landing Page", "web", 0.95),
    ("Holiday Promo", "social", 0.85),
)
CHANNEL_SOURCE: Final = {
    "phone": "import", "email": "email", "web": "web_form", "sms": "import", "social": "social",
    "referral": "referral",
}
# Leads that arrive without a campaign.
ORGANIC_SOURCES: Final = ("inbound_call", "referral", "partner", "web_form")
ORGANIC_WEIGHTS: Final = (0.45, 0.2, 0.15, 0.2)

# (code, name, description, points)
BADGES: Final = (
    ("century", "Century", "Handled 100 calls", 50),
    ("marathon", "Marathon", "Handled 1,000 calls", 200),
    ("first_win", "First Win", "Converted a first lead", 25),
    ("closer", "Closer", "Converted 10 leads", 100),
    ("crowd_pleaser", "Crowd Pleaser", "Earned 25 five-star ratings", 75),
    ("early_bird", "Early Bird", "Started a shift before 7:30", 10),
)
CALL_MILESTONES: Final = {100: "century", 1000: "marathon"}
WIN_MILESTONES: Final = {1: "first_win", 10: "closer"}
FIVE_STAR_MILESTONE: Final = 25

# Relative call volume per local hour. Inbound peaks mid-morning and mid-afternoon with a lunch dip; weekends are
# flatter and later; outbound dialling keeps to calling hours; web forms arrive round the clock, evenings too.
INBOUND_WEEKDAY_HOURS: Final = (
    0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.12, 0.35, 0.8, 1.3, 1.6, 1.45,
    0.95, 1.05, 1.4, 1.5, 1.2, 0.75, 0.4, 0.25, 0.15, 0.1, 0.06, 0.04,
)
INBOUND_WEEKEND_HOURS: Final = (
    0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.4, 0.75, 1.0, 1.05,
    0.9, 0.9, 0.95, 0.9, 0.75, 0.55, 0.4, 0.25, 0.15, 0.1, 0.05, 0.03,
)
OUTBOUND_HOURS: Final = (
    0, 0, 0, 0, 0, 0, 0, 0, 0.2, 1.1, 1.4, 1.3,
    0.6, 0.9, 1.3, 1.35, 1.2, 0.8, 0.3, 0, 0, 0, 0, 0,
)
WEB_HOURS: Final = (
    0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.6, 0.9, 1.0, 1.05, 1.05,
    1.0, 1.0, 1.0, 0.95, 0.95, 0.95, 1.0, 1.1, 1.15, 1.0, 0.7, 0.4,
)
# Monday .. Sunday; the five weekdays average 1.0 so calls_per_day means "an average weekday".
CALL_DAY_FACTORS: Final = (1.1, 1.05, 1.0, 0.98, 0.87, 0.35, 0.2)
LEAD_DAY_FACTORS: Final = (1.15, 1.05, 1.0, 0.95, 0.85, 0.5, 0.4)

GENERIC_TASKS: Final = (
    "Complete compliance refresher",
    "Review QA scorecard with team lead",
    "Update knowledge base article",
    "Shadow a senior agent",
    "Clean up CRM notes",
)
