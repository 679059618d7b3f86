"""The fine-tuning lesson's built-in dataset: short questions answered in one fixed format,
"Answer: ... | Why: ...", so that what LoRA teaches (a format, not facts) shows at a glance when
the base and the adapted model answer the same new question. Learners edit it in the demo.
"""

EXAMPLES = [
    ("What is the boiling point of water at sea level?",
     "Answer: 100 °C | Why: at 1 atmosphere water's vapour pressure reaches the air pressure at 100 °C."),
    ("How many continents are there?",
     "Answer: seven | Why: Africa, Antarctica, Asia, Australia, Europe, North America and South America."),
    ("What gas do plants take in for photosynthesis?",
     "Answer: carbon dioxide | Why: light drives the reaction that turns CO2 and water into sugar."),
    ("What is 12 times 12?", "Answer: 144 | Why: 12 × 12 = 144."),
    ("Which planet is closest to the Sun?",
     "Answer: Mercury | Why: it orbits at about 58 million km, nearer than any other planet."),
    ("What is the largest ocean?",
     "Answer: the Pacific | Why: it covers about a third of the Earth's surface."),
    ("How many sides does a hexagon have?", "Answer: six | Why: 'hexa' means six."),
    ("What is the chemical symbol for gold?", "Answer: Au | Why: from its Latin name, aurum."),
    ("How many minutes are in a day?", "Answer: 1440 | Why: 24 hours × 60 minutes."),
    ("What is the freezing point of water in Fahrenheit?",
     "Answer: 32 °F | Why: 0 °C is 32 °F on the Fahrenheit scale."),
    ("Which organ pumps blood through the body?",
     "Answer: the heart | Why: its contractions push blood through the arteries."),
    ("What is the square root of 81?", "Answer: 9 | Why: 9 × 9 = 81."),
    ("What is the capital of Kenya?", "Answer: Nairobi | Why: it is the seat of Kenya's government and its largest city."),
    ("How many legs does a spider have?", "Answer: eight | Why: spiders are arachnids, which have eight legs."),
    ("What is H2O?", "Answer: water | Why: two hydrogen atoms bonded to one oxygen atom."),
    ("What is 15% of 200?", "Answer: 30 | Why: 0.15 × 200 = 30."),
    ("Which is the longest river in Africa?", "Answer: the Nile | Why: it runs about 6,650 km to the Mediterranean."),
    ("How many bits are in a byte?", "Answer: eight | Why: a byte is defined as 8 bits."),
    ("What force keeps the Moon in orbit around the Earth?",
     "Answer: gravity | Why: the Earth's pull bends the Moon's path into an orbit."),
    ("What is the smallest prime number?", "Answer: 2 | Why: it is the only even prime."),
    ("In which language is 'asante' thank you?", "Answer: Swahili | Why: 'asante' means thank you in Kiswahili."),
    ("How many days are in a leap year?", "Answer: 366 | Why: February gains a 29th day."),
    ("What does a thermometer measure?", "Answer: temperature | Why: it shows how hot or cold something is."),
    ("What is the main language model family of this lab?",
     "Answer: Qwen | Why: every demo here runs a Qwen checkpoint."),
]

# Questions the model never trained on: the base and the adapted model answer these side by side.
COMPARE = [
    "What is the capital of Japan?",
    "How many hours are in a week?",
    "What colour do you get by mixing blue and yellow?",
]
