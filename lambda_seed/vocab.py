"""Word lists the generator draws from: names, places, products. Data only."""

from __future__ import annotations

# A few non-ASCII names on purpose: the lake must carry UTF-8 end to end.
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "James",
    "Isabella", "William", "Mia", "Benjamin", "Charlotte", "Lucas", "Harper", "Henry", "Evelyn",
    "Theodore", "Luna", "Jack", "Camila", "Levi", "Gianna", "Alexander", "Elizabeth", "Jackson",
    "Eleanor", "Mateo", "Ella", "Daniel", "Abigail", "Michael", "Sofia", "Mason", "Avery",
    "Sebastian", "Scarlett", "Ethan", "Emily", "Logan", "Aria", "Owen", "Penelope", "Samuel",
    "Chloe", "Jacob", "Layla", "Asher", "Mila", "Aiden", "Nora", "John", "Hazel", "Joseph",
    "Madison", "Wyatt", "Ellie", "David", "José", "Zoë", "Chloé", "Björn", "Søren", "Renée",
    "Andrés", "Inès", "Jürgen", "Noël",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Müller", "Schröder", "Núñez",
    "Peña", "Dubois", "Lefèvre", "Kowalski", "Janssen", "Rossi", "O'Brien",
)  # fmt: skip

EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")

REGIONS = ("north", "south", "east", "west", "central")

# (city, country, postal code pattern): 9 = digit, A = letter.
CITIES = (
    ("New York", "US", "99999"), ("Chicago", "US", "99999"), ("Austin", "US", "99999"),
    ("Seattle", "US", "99999"), ("Boston", "US", "99999"), ("Denver", "US", "99999"),
    ("London", "GB", "A9 9AA"), ("Manchester", "GB", "A99 9AA"), ("Berlin", "DE", "99999"),
    ("München", "DE", "99999"), ("Hamburg", "DE", "99999"), ("Paris", "FR", "99999"),
    ("Lyon", "FR", "99999"), ("Madrid", "ES", "99999"), ("Barcelona", "ES", "99999"),
    ("Amsterdam", "NL", "9999 AA"), ("Rotterdam", "NL", "9999 AA"), ("Milano", "IT", "99999"),
    ("Roma", "IT", "99999"), ("Warszawa", "PL", "99-999"), ("Kraków", "PL", "99-999"),
    ("Stockholm", "SE", "999 99"), ("Göteborg", "SE", "999 99"), ("Toronto", "CA", "A9A 9A9"),
    ("Montréal", "CA", "A9A 9A9"),
)  # fmt: skip

STREETS = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "River", "Church", "Mill", "Station", "High", "King", "Queen", "Market", "Bridge", "Garden",
)  # fmt: skip
STREET_KINDS = ("Street", "Avenue", "Road", "Lane", "Way", "Boulevard", "Place", "Drive")

# category -> (typical price in cents, nouns)
CATEGORIES = {
    "electronics": (24900, ("Headphones", "Speaker", "Monitor", "Keyboard", "Router", "Camera")),
    "home": (5900, ("Lamp", "Blanket", "Vase", "Clock", "Mirror", "Shelf")),
    "kitchen": (3900, ("Blender", "Kettle", "Pan", "Knife Set", "Toaster", "Grinder")),
    "garden": (4500, ("Hose", "Planter", "Shears", "Lantern", "Bench", "Trowel")),
    "sports": (6900, ("Yoga Mat", "Dumbbell", "Racket", "Helmet", "Backpack", "Bottle")),
    "toys": (2900, ("Puzzle", "Robot", "Train Set", "Doll", "Kite", "Blocks")),
    "books": (1900, ("Novel", "Cookbook", "Atlas", "Journal", "Guide", "Anthology")),
    "beauty": (2400, ("Serum", "Shampoo", "Brush", "Perfume", "Lotion", "Balm")),
    "office": (1500, ("Notebook", "Pen Set", "Stapler", "Desk Mat", "Organizer", "Planner")),
    "fashion": (4900, ("Jacket", "Scarf", "Sneakers", "Belt", "Hat", "Sweater")),
}
ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Premium", "Smart", "Urban", "Vintage",
    "Pro", "Nordic", "Bold", "Lite", "Ultra", "Cozy", "Swift",
)  # fmt: skip
