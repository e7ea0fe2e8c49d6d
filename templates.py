"""Vocabulary and question templates for dataset.py (data only).

A template is (id, pool, text). The id is "family/shape/tN": dataset.py's SHAPES maps "family/shape" to its step
count and to the function that draws the numbers and builds the expression. The pool says which split may use it:
"train" (train and test splits), "dev" (dev split only), "ood" (test-ood split only). Dev and ood templates are
worded differently from train ones (no 6 words in a row shared; a test checks).

Fields: the shape's numbers ({a}, {n}, {p}, ...), people {A} {B} {C} (with {A.he} {A.He} {A.him} {A.his} {A.His}),
{item} {items} {a_item} {container} {containers} {a_container}, a second item {item2} {items2}, a distractor
number and item {noise} {others}, and {group} (people to share with). Numbers are never 0 or 1, so nouns after
them are plural. Word numbers stand for constants: twice/double/half/two -> 2, triple/a third/three -> 3,
four -> 4, a dozen -> 12, "%" -> /100.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    name: str
    he: str
    him: str
    his: str

    def __str__(self) -> str:
        return self.name

    @property
    def He(self) -> str:  # "{A.He}" at the start of a sentence
        return self.he.capitalize()

    @property
    def His(self) -> str:
        return self.his.capitalize()


def _people(women: str, men: str) -> tuple[Person, ...]:
    return tuple(Person(n, "she", "her", "her") for n in women.split()) + tuple(
        Person(n, "he", "him", "his") for n in men.split()
    )


# Vocabulary pools: "in" for train, test and dev; "ood" for test-ood only. The pools share no name and no item.
PEOPLE = {
    "in": _people(
        "Ava Chloe Emma Farah Hana Keiko Maya Olivia Priya Rosa Tara Vera Ximena Zoe Bianca Dalia Fatima Ingrid "
        "Leila Nadia Sofia Uma Willow Yara",
        "Ben Diego Gabriel Ivan Jamal Liam Noah Samir Umar Wei Yusuf Aiden Carlos Elijah George Jonas Kofi Mateo "
        "Oscar Pablo Rahul Tomas Victor Quinn",
    ),
    "ood": _people(
        "Amara Celeste Esther Greta Isla Kira Mira Odette Rania Thea Valentina Yvonne Beatriz Soraya",
        "Bruno Dmitri Felix Hugo Joaquin Lorenzo Nikolai Pedro Stefan Wendell Xavier Zane Anselm Tobias",
    ),
}

# (singular, plural, container, containers): each item comes with a container it is sold or kept in.
ITEMS = {
    "in": (
        ("apple", "apples", "crate", "crates"),
        ("orange", "oranges", "crate", "crates"),
        ("peach", "peaches", "crate", "crates"),
        ("egg", "eggs", "carton", "cartons"),
        ("light bulb", "light bulbs", "carton", "cartons"),
        ("pencil", "pencils", "box", "boxes"),
        ("crayon", "crayons", "box", "boxes"),
        ("nail", "nails", "box", "boxes"),
        ("candle", "candles", "box", "boxes"),
        ("tea bag", "tea bags", "box", "boxes"),
        ("cupcake", "cupcakes", "box", "boxes"),
        ("marble", "marbles", "bag", "bags"),
        ("balloon", "balloons", "bag", "bags"),
        ("lemon", "lemons", "bag", "bags"),
        ("sticker", "stickers", "sheet", "sheets"),
        ("trading card", "trading cards", "pack", "packs"),
        ("battery", "batteries", "pack", "packs"),
        ("napkin", "napkins", "pack", "packs"),
        ("bead", "beads", "jar", "jars"),
        ("button", "buttons", "jar", "jars"),
        ("cookie", "cookies", "tray", "trays"),
        ("muffin", "muffins", "tray", "trays"),
        ("seedling", "seedlings", "tray", "trays"),
        ("brick", "bricks", "pallet", "pallets"),
        ("tile", "tiles", "pallet", "pallets"),
        ("notebook", "notebooks", "carton", "cartons"),
        ("bottle of water", "bottles of water", "case", "cases"),
        ("potato", "potatoes", "sack", "sacks"),
        ("tomato", "tomatoes", "basket", "baskets"),
        ("strawberry", "strawberries", "basket", "baskets"),
        ("paper cup", "paper cups", "stack", "stacks"),
        ("bolt", "bolts", "bin", "bins"),
    ),
    "ood": (
        ("plum", "plums", "crate", "crates"),
        ("walnut", "walnuts", "sack", "sacks"),
        ("eraser", "erasers", "box", "boxes"),
        ("paintbrush", "paintbrushes", "box", "boxes"),
        ("magnet", "magnets", "tin", "tins"),
        ("whistle", "whistles", "bag", "bags"),
        ("candy bar", "candy bars", "carton", "cartons"),
        ("glue stick", "glue sticks", "pack", "packs"),
        ("paper clip", "paper clips", "tub", "tubs"),
        ("golf ball", "golf balls", "bucket", "buckets"),
        ("lollipop", "lollipops", "jar", "jars"),
        ("dumpling", "dumplings", "tray", "trays"),
        ("onion", "onions", "net", "nets"),
        ("spark plug", "spark plugs", "case", "cases"),
        ("seashell", "seashells", "pail", "pails"),
        ("postcard", "postcards", "bundle", "bundles"),
    ),
}

GROUPS = ("friends", "classmates", "neighbors", "cousins", "teammates")
# Bills to pay with: the smallest that covers the bill is used.
NOTES = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000)
# Words whose article is not what their first letter says: "an hour", "a unit".
AN_WORDS = ("hour", "hours", "honest", "heir")
A_WORDS = ("unit", "uniform", "used", "one", "user", "usual", "euro", "union", "university")

# "N times more than X" means N*X in every template here (the common reading in word problems).
# fmt: off
TEMPLATES = (
    # times: multiplicative comparison
    ("times/product/t1", "train", "{A} has {a} {items}. {B} has {n} times as many {items} as {A}. How many {items} does {B} have?"),
    ("times/product/t2", "train", "{B} collected {n} times more {items} than {A}. If {A} collected {a} {items}, how many {items} did {B} collect?"),
    ("times/product/t3", "train", "A shop sold {a} {items} on Monday and {n} times as many on Saturday. How many {items} did it sell on Saturday?"),
    ("times/product/t4", "train", "How many {items} does {B} have if {B.he} has {n} times more {items} than {A}, who has {a}?"),
    ("times/product/t7", "train", "{B}'s stall sells {n} times more than {A}'s stall. If {A}'s stall sells {a} {items} a week, how many {items} does {B}'s stall sell a week?"),
    ("times/twice/t1", "train", "{A} picked {a} {items} in the morning and twice as many in the afternoon. How many {items} did {A.he} pick in the afternoon?"),
    ("times/twice/t2", "train", "{A} has {a} {items} and {noise} {others}. {B} has twice as many {items} as {A}. How many {items} does {B} have?"),
    ("times/triple/t1", "train", "Last year a club had {a} {items}. This year it has triple that number. How many {items} does the club have this year?"),
    ("times/together/t1", "train", "{A} has {a} {items}, and {B} has {n} times as many. How many {items} do they have together?"),
    ("times/together/t2", "train", "On Monday a farm stand sold {a} {items}. On Tuesday it sold {n} times as many. How many {items} did it sell on the two days together?"),
    ("times/plus/t1", "train", "{A} has {a} {items}. {B} has {n} times as many {items} as {A}, and {C} has {m} more than {B}. How many {items} do {A} and {C} have together?"),
    ("times/plus/t2", "train", "A bakery sold {a} {items} on Friday. On Saturday it sold {n} times as many, and on Sunday it sold {m} more than on Saturday. How many {items} were sold on Friday and Sunday combined?"),
    ("times/three/t1", "train", "{A} has {a} {items}. {B} has {n} times as many {items} as {A}, and {C} has {k} times as many as {A}. How many {items} do the three of them have in all?"),
    ("times/three/t2", "train", "A school collected {a} {items} in week one. In week two it collected {n} times as many as in week one, and in week three {k} times as many as in week one. How many {items} did it collect over the three weeks?"),
    ("times/product/t5", "dev", "At the fair, {A} won {a} {items}. {B} won {n} times that amount. What number of {items} did {B} win?"),
    ("times/twice/t3", "dev", "{A}'s collection holds {a} {items}, while {B}'s collection is double that size. What is the size of {B}'s collection?"),
    ("times/together/t3", "dev", "A warehouse stored {a} {items} in its small room and {n} times that number in its big room. What was the total number of {items} stored in both rooms?"),
    ("times/together/t4", "dev", "{A} baked {a} {items}. {B} baked {n} times that amount. Combined, what number of {items} did the pair bake?"),
    ("times/plus/t3", "dev", "Three stalls sold {items}. The first sold {a}, the second sold {n} times the first stall's number, and the third sold {m} beyond the second. What number of {items} did the first and third stalls sell between them?"),
    ("times/plus/t4", "dev", "{C} gathered {m} {items} beyond what {B} gathered, and {B} gathered {n} times the {a} {items} that {A} gathered. What was the combined haul of {A} and {C}?"),
    ("times/three/t3", "dev", "A library lent out {a} {items} in June, {n} times that figure in July and {k} times the June figure in August. What was the summer total of {items} lent?"),
    ("times/three/t4", "dev", "{B} owned {n} times the number of {items} {A} owned, {C} owned {k} times {A}'s number, and {A} owned {a}. What total did the trio own?"),
    ("times/product/t6", "ood", "Suppose {A} keeps {a} {items} and {B} keeps a pile {n}-fold the size of {A}'s. Then what count of {items} is in {B}'s pile?"),
    ("times/triple/t2", "ood", "Picture a pantry with {a} {items} on its top shelf and thrice that many on its bottom shelf. What count sits on the bottom shelf?"),
    ("times/together/t5", "ood", "Imagine a festival where stand one hands out {a} {items} and stand two hands out {n}-fold as many. Altogether, what count is handed out?"),
    ("times/together/t6", "ood", "What count of {items} would {A} and {B} hold jointly, given {B.his} stash is {n}-fold the {a} {items} {A} holds?"),
    ("times/plus/t5", "ood", "Suppose {A} stacks {a} {items}; {B} stacks {n}-fold that, and {C} stacks {m} beyond {B}. Summing only {A} and {C}, what do we get?"),
    ("times/plus/t6", "ood", "Picture a museum shop: in spring it moves {a} {items}, in summer {n}-fold the spring count, in autumn {m} above summer. Spring plus autumn gives what count?"),
    ("times/three/t5", "ood", "Imagine {A} with {a} {items}, {B} with {n}-fold that, and {C} with {k}-fold {A}'s count. Pooling all three, what count results?"),
    ("times/three/t6", "ood", "A volunteer drive logs {a} {items} on day one, then {n}-fold and {k}-fold the day-one count on days two and three. Across those days, what is the sum?"),

    # compare: N more / fewer than
    ("compare/more/t1", "train", "{A} has {a} {items}. {B} has {m} more {items} than {A}. How many {items} does {B} have?"),
    ("compare/more/t2", "train", "{B} sold {m} more {items} than {A} did. {A} sold {a} {items}. How many {items} did {B} sell?"),
    ("compare/fewer/t1", "train", "{A} has {a} {items}. {B} has {m} fewer {items} than {A}. How many {items} does {B} have?"),
    ("compare/fewer/t2", "train", "How many {items} did {B} collect if {B.he} collected {m} fewer than {A}, who collected {a}?"),
    ("compare/fewer/t3", "train", "There are {a} {items} in the first {container} and {m} fewer in the second. The shop also has {noise} {others}. How many {items} are in the second {container}?"),
    ("compare/total/t1", "train", "{A} has {a} {items}, and {B} has {m} more than {A}. How many {items} do they have altogether?"),
    ("compare/total/t2", "train", "A class collected {a} {items} in May and {m} more {items} in June than in May. How many {items} did the class collect in the two months?"),
    ("compare/then_fewer/t1", "train", "{A} has {a} {items}. {B} has {m} more {items} than {A}, and {C} has {k} fewer than {B}. How many {items} does {C} have?"),
    ("compare/then_fewer/t2", "train", "A stall sold {a} {items} on Monday, {m} more on Tuesday than on Monday, and {k} fewer on Wednesday than on Tuesday. How many {items} did it sell on Wednesday?"),
    ("compare/more/t3", "dev", "{A} counted {a} {items} at the depot, and {B} counted {m} above that figure. What figure did {B} count?"),
    ("compare/fewer/t4", "dev", "A garden produced {a} {items} in its first season and {m} less in its second. What was the second season's number of {items}?"),
    ("compare/total/t3", "dev", "The morning shift boxed {a} {items}; the evening shift boxed {m} beyond the morning figure. What was the total boxed by both shifts?"),
    ("compare/then_fewer/t3", "dev", "{A} stocked {a} {items}. {B} stocked {m} beyond {A}'s figure, and {C} stocked {k} short of {B}'s figure. What figure did {C} stock?"),
    ("compare/more/t4", "ood", "Suppose a pantry holds {a} {items} and a cellar holds {m} extra beyond that. Then what count is in the cellar?"),
    ("compare/fewer/t5", "ood", "What count of {items} does {B} carry, given {B.he} carries {m} short of the {a} that {A} carries?"),
    ("compare/total/t4", "ood", "Imagine {A} brings {a} {items} to a picnic and {B} brings {m} extra beyond {A}'s load. Pooling both loads, what count results?"),
    ("compare/total/t5", "ood", "Picture two tables at a fair: table one shows {a} {items}, table two shows {m} above table one. Summed, what count do the tables show?"),
    ("compare/then_fewer/t4", "ood", "Suppose {A} owns {a} {items}, {B} owns {m} beyond that, and {C} owns {k} short of {B}. Then {C}'s count is what?"),
    ("compare/then_fewer/t5", "ood", "What count does a third drawer hold if drawer one holds {a} {items}, drawer two {m} extra beyond drawer one, and drawer three {k} short of drawer two?"),

    # rate: per hour, each, per box
    ("rate/product/t1", "train", "A machine packs {r} {items} per hour. How many {items} does it pack in {t} hours?"),
    ("rate/product/t2", "train", "Each {container} holds {r} {items}. How many {items} are in {t} {containers}?"),
    ("rate/product/t3", "train", "{A} sorts {r} {items} each day. How many {items} does {A.he} sort in {t} days?"),
    ("rate/plus/t1", "train", "{A} already had {c} {items} and then collected {r} more each day for {t} days. How many {items} does {A.he} have now?"),
    ("rate/plus/t2", "train", "A store has {c} {items} on its shelves. A delivery brings {t} {containers} with {r} {items} in each. How many {items} does the store have now?"),
    ("rate/two/t1", "train", "{A} packs {r} {items} per hour for {t} hours, then {r2} {items} per hour for {t2} hours. How many {items} does {A.he} pack in total?"),
    ("rate/two/t2", "train", "A farm ships {t} {containers} of {r} {items} each and {t2} {containers} of {r2} {items} each. The farm has {noise} workers. How many {items} does it ship?"),
    ("rate/two_less/t1", "train", "{A} works {t} hours at {r} {items} per hour and {t2} hours at {r2} {items} per hour. {A.He} then gives {c} of the {items} to {B}. How many {items} does {A.he} have left?"),
    ("rate/two_less/t2", "train", "How many {items} are left after a shop receives {t} {containers} of {r} {items} and {t2} {containers} of {r2} {items}, then sells {c} of them?"),
    ("rate/product/t4", "dev", "A printer turned out {r} {items} an hour for a shift of {t} hours. What number of {items} came out during the shift?"),
    ("rate/product/t5", "dev", "The cannery fills {t} {containers}, putting {r} {items} into every one. What is the total number of {items} used?"),
    ("rate/plus/t3", "dev", "A depot started with {c} {items}. For {t} days it took in {r} {items} a day. What was its final stock?"),
    ("rate/plus/t4", "dev", "Beyond the {c} {items} already stored, {B} unloaded {t} {containers} holding {r} apiece. What number of {items} were stored at the end?"),
    ("rate/two/t3", "dev", "During a sale a kiosk sold {r} {items} an hour for {t} hours and after that {r2} an hour for {t2} hours. What number of {items} did it sell over the whole day?"),
    ("rate/two/t4", "dev", "A truck carried {t} {containers} at {r} {items} apiece and a van carried {t2} {containers} at {r2} {items} apiece. What was the total load of {items}?"),
    ("rate/two_less/t3", "dev", "{A} assembled {r} {items} an hour for {t} hours and {r2} an hour for {t2} hours; afterwards {c} of them failed inspection. What number of {items} passed?"),
    ("rate/two_less/t4", "dev", "A pantry took in {t} {containers} with {r} {items} apiece and {t2} {containers} with {r2} apiece, then handed {c} {items} to a shelter. What number of {items} stayed in the pantry?"),
    ("rate/product/t6", "ood", "Suppose a robot wraps {r} {items} every sixty minutes. Running {t} hours straight, what count does it wrap?"),
    ("rate/product/t7", "ood", "Picture {t} {containers} lined up, {r} {items} tucked into every one. What count of {items} is that in all?"),
    ("rate/plus/t5", "ood", "Imagine {A} starting with {c} {items} and gaining {r} fresh ones daily across {t} days. By the end, what count does {A.he} own?"),
    ("rate/plus/t6", "ood", "What count of {items} sits in a shed that held {c}, once {t} {containers} arrive carrying {r} apiece?"),
    ("rate/two/t5", "ood", "Suppose a bot wraps {r} {items} hourly across {t} hours, then slows to {r2} hourly across {t2} hours. Then what count gets wrapped overall?"),
    ("rate/two/t6", "ood", "Picture a dock: {t} {containers} unloaded, each carrying {r} {items}, then {t2} more {containers}, each carrying {r2}. Summed up, what count is that?"),
    ("rate/two_less/t5", "ood", "Imagine {A} crafting {r} {items} hourly for {t} hours, then {r2} hourly for {t2} hours, and then donating {c}. What count stays with {A.him}?"),
    ("rate/two_less/t6", "ood", "Say a dock gets {t} {containers} loaded with {r} {items} a piece and {t2} {containers} loaded with {r2} a piece, and {c} get shipped onward. What count stays behind?"),

    # cost: unit price, total cost, change
    ("cost/total/t1", "train", "{A} buys {q} {items} at {p} each. How much does {A.he} spend, in dollars?"),
    ("cost/total/t2", "train", "One {item} costs {p}. How many dollars do {q} {items} cost?"),
    ("cost/dozen/t1", "train", "Each {item} costs {p}. How much do a dozen {items} cost, in dollars?"),
    ("cost/change/t1", "train", "{A} buys {q} {items} at {p} each and pays with {note}. How much change, in dollars, does {A.he} get?"),
    ("cost/change/t2", "train", "{A} has {note} and buys {q} {items} that cost {p} each. How many dollars are left?"),
    ("cost/two/t1", "train", "{A} buys {q} {items} at {p} each and {q2} {items2} at {p2} each. What is the total cost in dollars?"),
    ("cost/two/t2", "train", "A school orders {q} {items} for {p} each and {q2} {items2} for {p2} each. How many dollars does the order cost?"),
    ("cost/two_change/t1", "train", "{A} pays with {note} for {q} {items} at {p} each and {q2} {items2} at {p2} each. How much change does {A.he} get, in dollars?"),
    ("cost/two_change/t2", "train", "How much change, in dollars, does {A} get from {note} after buying {q} {items} priced at {p} each and {q2} {items2} priced at {p2} each?"),
    ("cost/total/t3", "dev", "The price tag on {a_item} read {p}. What did {A} owe, in dollars, for {q} of them?"),
    ("cost/dozen/t2", "dev", "At the market, {items} were priced at {p} apiece. What did {A} pay, in dollars, for twelve of them?"),
    ("cost/change/t3", "dev", "{A} handed the cashier {note} for {q} {items} priced at {p} apiece. What amount came back, in dollars?"),
    ("cost/change/t4", "dev", "With {note} in {A.his} wallet, {A} paid for {q} {items} at {p} apiece. What sum, in dollars, stayed in the wallet?"),
    ("cost/two/t3", "dev", "The receipt listed {q} {items} at {p} apiece and {q2} {items2} at {p2} apiece. What was the bill, in dollars?"),
    ("cost/two/t4", "dev", "For a party {B} bought {q} {items} at {p} apiece plus {q2} {items2} at {p2} apiece. What did the shopping come to, in dollars?"),
    ("cost/two_change/t3", "dev", "{A} gave the clerk {note} to pay for {q} {items} at {p} apiece and {q2} {items2} at {p2} apiece. What sum came back, in dollars?"),
    ("cost/two_change/t4", "dev", "Starting with {note}, {B} paid for {q} {items} at {p} apiece and {q2} {items2} at {p2} apiece. What sum, in dollars, did {B.he} keep?"),
    ("cost/total/t4", "ood", "Suppose a kiosk charges {p} per {item}. Then grabbing {q} of them sets you back what, in dollars?"),
    ("cost/dozen/t3", "ood", "Imagine {items} selling for {p} a piece. What would twelve of them set {A} back, in dollars?"),
    ("cost/change/t5", "ood", "Picture {A} at a till, {note} in hand, buying {q} {items} at {p} a piece. What comes back, in dollars?"),
    ("cost/change/t6", "ood", "What does {A} get back, in dollars, after handing over {note} for {q} {items} costing {p} a piece?"),
    ("cost/two/t5", "ood", "Suppose you grab {q} {items} at {p} a piece and {q2} {items2} at {p2} a piece. Then the till shows what, in dollars?"),
    ("cost/two/t6", "ood", "Imagine {A} filling a cart with {q} {items} ({p} a piece) and {q2} {items2} ({p2} a piece). The till shows what, in dollars?"),
    ("cost/two_change/t5", "ood", "Picture {A} handing over {note} to cover {q} {items} at {p} a piece plus {q2} {items2} at {p2} a piece. What comes back, in dollars?"),
    ("cost/two_change/t6", "ood", "What comes back to {A}, in dollars, from {note} once {q} {items} ({p} a piece) and {q2} {items2} ({p2} a piece) are rung up?"),

    # share: sharing equally
    ("share/each/t1", "train", "{A} has {t} {items} and shares them equally among {d} {group}. How many {items} does each one get?"),
    ("share/each/t2", "train", "{t} {items} are packed equally into {d} {containers}. How many {items} go into each {container}?"),
    ("share/each/t3", "train", "{A} divides {t} {items} evenly between {d} {group}. How many {items} does each receive?"),
    ("share/keep/t1", "train", "{A} has {t} {items}, keeps {k} of them, and shares the rest equally among {d} {group}. How many {items} does each get?"),
    ("share/keep/t2", "train", "A shop has {t} {items}. After setting aside {k}, it packs the rest equally into {d} {containers}. How many {items} are in each {container}?"),
    ("share/packs/t1", "train", "{A} buys {p} {containers} of {k} {items} and already has {h} {items}. {A.He} shares all of them equally among {d} {group}. How many {items} does each get?"),
    ("share/packs/t2", "train", "How many {items} does each of {d} {group} get if {A} shares {p} {containers} of {k} {items} plus {h} loose ones equally among them?"),
    ("share/packs_give/t1", "train", "{A} has {h} {items} and buys {p} {containers} with {k} {items} in each. {A.He} gives {g} to {B} and shares the rest equally among {d} {group}. How many {items} does each get?"),
    ("share/packs_give/t2", "train", "A club receives {p} {containers} of {k} {items} and {h} extra {items}. It throws away {g} damaged ones, then splits the rest equally among {d} teams. The club has {noise} members. How many {items} does each team get?"),
    ("share/each/t4", "dev", "A teacher handed out {t} {items} so that {d} students got the same number. What number of {items} did every student get?"),
    ("share/each/t5", "dev", "The {t} {items} from a harvest were split evenly over {d} {containers}. What number went into every {container}?"),
    ("share/keep/t3", "dev", "Out of {t} {items}, {A} held back {k} and split the remainder evenly among {d} {group}. What number did every one of them receive?"),
    ("share/keep/t4", "dev", "A caterer made {t} {items}, saved {k} for the staff and spread the remainder evenly over {d} tables. What number of {items} went on every table?"),
    ("share/packs/t3", "dev", "{B} added {p} {containers} holding {k} {items} apiece to a pile of {h} {items}, then split the lot evenly among {d} {group}. What number did every one of them get?"),
    ("share/packs/t4", "dev", "A shelter received {p} {containers} with {k} {items} apiece and {h} single {items}, then split them evenly among {d} families. What was every family's portion?"),
    ("share/packs_give/t3", "dev", "Holding {h} {items}, {A} bought {p} {containers} with {k} apiece, passed {g} to {B} and split the remainder evenly among {d} {group}. What was every portion?"),
    ("share/packs_give/t4", "dev", "A camp got {p} {containers} of {k} {items} apiece on top of {h} it already had. After {g} spoiled, the remainder was split evenly among {d} cabins. What number of {items} did every cabin get?"),
    ("share/each/t6", "ood", "Suppose {t} {items} get dealt out fairly to {d} {group}. Then what count lands with a single person?"),
    ("share/each/t7", "ood", "What count goes into a single {container} when {t} {items} are spread fairly over {d} {containers}?"),
    ("share/keep/t5", "ood", "Imagine {A} setting {k} of {A.his} {t} {items} aside and dealing out what remains fairly to {d} {group}. What count lands with a single person?"),
    ("share/keep/t6", "ood", "Picture {t} {items} at a bazaar: {k} get reserved and the others are spread fairly over {d} {containers}. What count sits in a single {container}?"),
    ("share/packs/t5", "ood", "Suppose {A} merges {p} {containers} of {k} {items} with {h} spare {items} and deals out the whole heap fairly to {d} {group}. What count lands with a single person?"),
    ("share/packs/t6", "ood", "What count lands with a single one of {d} {group} when {h} spare {items} join {p} {containers} packed with {k} a piece and all are dealt out fairly?"),
    ("share/packs_give/t5", "ood", "Imagine {A} owning {h} {items}, buying {p} {containers} of {k}, handing {g} to {B}, then dealing out what remains fairly to {d} {group}. What count lands with a single person?"),
    ("share/packs_give/t6", "ood", "Picture a food bank: {h} spare {items}, then {p} {containers} of {k} more, less {g} that spoil, dealt out fairly to {d} households. What count lands with a single household?"),

    # remainder: what is left over after sharing or packing
    ("remainder/left/t1", "train", "{A} shares {t} {items} equally among {d} {group}, giving each as many as possible. How many {items} are left over?"),
    ("remainder/left/t2", "train", "{t} {items} are packed into {containers} of {d}. How many {items} are left over after filling as many {containers} as possible?"),
    ("remainder/full/t1", "train", "A shop packs {t} {items} into {containers} that hold {d} each. How many full {containers} can it make?"),
    ("remainder/full/t2", "train", "{A} has {t} {items} and puts {d} in each {container}. How many {containers} can {A.he} fill completely?"),
    ("remainder/keep_left/t1", "train", "{A} has {t} {items}, keeps {k} for later, and shares the rest equally among {d} {group}. How many {items} are left over?"),
    ("remainder/keep_left/t2", "train", "A bakery makes {t} {items}, sells {k} of them, and packs the rest into {containers} of {d}. How many {items} are left over?"),
    ("remainder/packs_left/t1", "train", "{A} has {h} {items} and buys {p} {containers} of {k} more. {A.He} then packs them all into bags of {d}. How many {items} are left over?"),
    ("remainder/packs_left/t2", "train", "How many {items} are left over if {A} puts {p} {containers} of {k} {items} and {h} loose {items} into groups of {d}?"),
    ("remainder/left/t3", "dev", "A coach split {t} {items} among {d} players so that all got the same whole number. What number of {items} remained unshared?"),
    ("remainder/full/t3", "dev", "The packing line puts exactly {d} {items} into every {container}. Given {t} {items}, what number of {containers} can be filled to the top?"),
    ("remainder/keep_left/t3", "dev", "After putting {k} of {A.his} {t} {items} away, {A} split the remainder among {d} {group}, all getting equal whole shares. What number of {items} remained unshared?"),
    ("remainder/keep_left/t4", "dev", "From {t} {items} a grocer sold {k}, then filled {containers} of {d} with the remainder. What number of {items} did not fit in a full {container}?"),
    ("remainder/packs_left/t3", "dev", "To {h} {items}, {B} added {p} {containers} holding {k} apiece and then filled bundles of {d}. What number of {items} did not make a full bundle?"),
    ("remainder/packs_left/t4", "dev", "A depot had {h} {items} and took in {p} {containers} of {k} apiece. Its workers filled crates of {d} from the lot. What number of {items} remained unpacked?"),
    ("remainder/left/t4", "ood", "Suppose {t} {items} get dealt out to {d} {group}, each getting an equal whole count, as large as possible. Then what count stays undealt?"),
    ("remainder/full/t4", "ood", "What count of completely filled {containers} results when {t} {items} go in, {d} to a {container}?"),
    ("remainder/keep_left/t5", "ood", "Imagine {A} reserving {k} of {t} {items}, then dealing out what remains to {d} {group} in equal whole counts. What count stays undealt?"),
    ("remainder/keep_left/t6", "ood", "Picture {t} {items} at a stall: {k} get sold, and the others go into {containers} of {d}. What count fails to fill a {container}?"),
    ("remainder/packs_left/t5", "ood", "Suppose {A} merges {h} spare {items} with {p} {containers} of {k}, then bundles them in sets of {d}. What count is stranded outside a full set?"),
    ("remainder/packs_left/t6", "ood", "What count stays unbundled once {h} spare {items} join {p} {containers} of {k} and all get grouped in sets of {d}?"),

    # percent: percentages and discounts
    ("percent/of/t1", "train", "A store has {x} {items}. {p}% of them are sold today. How many {items} are sold today?"),
    ("percent/of/t2", "train", "{A} has {x} {items} and gives {p}% of them to {B}. How many {items} does {B} get?"),
    ("percent/of/t3", "train", "Of the {x} {items} in a warehouse, {p}% are damaged. How many {items} are damaged?"),
    ("percent/discount/t1", "train", "The price of {a_container} of {items} is {x}. It is on sale for {p}% off. What is the sale price in dollars?"),
    ("percent/discount/t2", "train", "{A} wants {a_container} of {items} priced at {x}. With {p}% off, how many dollars does {A.he} pay?"),
    ("percent/increase/t1", "train", "A farm had {x} {items} last year. This year the number grew by {p}%. How many {items} does the farm have this year?"),
    ("percent/increase/t2", "train", "{A}'s shop stocked {x} {items} in March and {p}% more in April. How many {items} did it stock in April?"),
    ("percent/discount_change/t1", "train", "The price of {a_container} of {items} is {x}, but today everything is {p}% off. {A} pays with {note}. How much change does {A.he} get, in dollars?"),
    ("percent/discount_change/t2", "train", "How much change, in dollars, does {A} receive from {note} after buying {a_container} of {items} that costs {x} before the {p}% discount?"),
    ("percent/of/t4", "dev", "A survey covered {x} {items}, and {p} percent of them were found faulty. What number of {items} were faulty?"),
    ("percent/of/t5", "dev", "{p} percent of the {x} {items} brought to a fair were given away as prizes. What number of {items} were prizes?"),
    ("percent/discount/t3", "dev", "{A} spotted {a_container} of {items} tagged {x} and got {p} percent knocked off at the register. What did {A.he} pay, in dollars?"),
    ("percent/increase/t3", "dev", "A hatchery held {x} {items}; a month later the stock had risen by {p} percent. What was the new number of {items}?"),
    ("percent/discount_change/t3", "dev", "{A} gave {note} for {a_container} of {items} tagged {x} but marked down by {p} percent. What sum came back, in dollars?"),
    ("percent/discount_change/t4", "dev", "During a clearance, {a_container} of {items} tagged {x} was reduced by {p} percent. {B} paid with {note}. What sum did {B.he} get back, in dollars?"),
    ("percent/of/t6", "ood", "Suppose {p}% out of a batch of {x} {items} turn out cracked. Then what count is cracked?"),
    ("percent/of/t7", "ood", "What count of {items} gets donated if a charity passes along {p}% out of {x} {items}?"),
    ("percent/discount/t4", "ood", "Imagine a price label reading {x} on {a_container} of {items}, with a banner promising {p}% off. What does the buyer hand over, in dollars?"),
    ("percent/increase/t4", "ood", "Suppose a storeroom holds {x} {items} now, and stock is set to rise {p}% by next spring. What count is expected then?"),
    ("percent/discount_change/t5", "ood", "Suppose {a_container} of {items} normally costs {x}, but {p}% gets marked off, and {A} hands over {note}. What comes back, in dollars?"),
    ("percent/discount_change/t6", "ood", "What comes back to {A}, in dollars, from {note} for {a_container} of {items} usually {x}, once {p}% is knocked off?"),

    # average
    ("average/total/t1", "train", "{A} sells an average of {m} {items} per day. How many {items} does {A.he} sell in {n} days?"),
    ("average/total/t2", "train", "A machine makes {m} {items} per hour on average. At that rate, how many {items} does it make in {n} hours?"),
    ("average/two/t1", "train", "{A} picked {a} {items} on Monday and {b} {items} on Tuesday. What is the average number of {items} {A.he} picked per day?"),
    ("average/two/t2", "train", "Two {containers} hold {a} and {b} {items}. What is the average number of {items} per {container}?"),
    ("average/three/t1", "train", "Over three days a stall sold {a}, {b} and {c} {items}. What was the average number of {items} sold per day?"),
    ("average/three/t2", "train", "{A}, {B} and {C} collected {a}, {b} and {c} {items}. On average, how many {items} did each of them collect?"),
    ("average/four/t1", "train", "A shop sold {a} {items} in week one, {b} in week two, {c} in week three and {d} in week four. What is the average number of {items} sold per week?"),
    ("average/four/t2", "train", "Four {containers} contain {a}, {b}, {c} and {d} {items}. The shop also has {noise} {others}. What is the average number of {items} in {a_container}?"),
    ("average/total/t3", "dev", "Across {n} shifts a packer handled a mean of {m} {items} a shift. What number of {items} did the packer handle altogether?"),
    ("average/total/t4", "dev", "The mean daily catch at a pier was {m} {items} over a stretch of {n} days. What was the catch for the whole stretch?"),
    ("average/two/t3", "dev", "Two volunteers gathered {items}: {a} and {b} of them. What was the mean number gathered by a volunteer?"),
    ("average/two/t4", "dev", "A bakery's two ovens turned out {items}, {a} from one and {b} from the other. What was the mean output of an oven?"),
    ("average/three/t3", "dev", "Three classrooms received {items}: {a}, {b} and {c} of them. What was the mean number that a classroom received?"),
    ("average/three/t4", "dev", "During three visits {A} logged {items}: {a}, {b} and {c} of them. What was {A.his} mean per visit?"),
    ("average/four/t3", "dev", "Four trucks delivered {items}: {a}, {b}, {c} and {d} of them. What was the mean load of a truck?"),
    ("average/four/t4", "dev", "During four months a club sold {items}: {a}, {b}, {c} and {d} of them. What was the mean number sold in a month?"),
    ("average/total/t5", "ood", "Suppose a kiosk moves {m} {items} on a typical day, and that typical figure holds for {n} days. Then what count moves overall?"),
    ("average/total/t6", "ood", "What count does a picker gather across {n} mornings if a typical morning yields {m} {items}?"),
    ("average/two/t5", "ood", "Imagine two baskets, one with {a} {items} and one with {b}. Evened out, what count would each basket hold?"),
    ("average/two/t6", "ood", "What would each of {A} and {B} hold if {A.his} {a} {items} and {B}'s {b} got evened out between them?"),
    ("average/three/t5", "ood", "Picture three shelves with {a}, {b} and {c} {items}. Evened out across the shelves, what count sits on each?"),
    ("average/three/t6", "ood", "Suppose three friends hold {a}, {b} and {c} {items} and pool them, then split evenly. Then what count does each end with?"),
    ("average/four/t5", "ood", "Imagine four bins of {items}: bin one with {a}, bin two with {b}, bin three with {c}, bin four with {d}. Evened out, what count would each bin hold?"),
    ("average/four/t6", "ood", "What count lands in each of four lockers holding {a}, {b}, {c} plus {d} {items}, once pooled and then evened out?"),

    # fraction: half, a third
    ("fraction/half/t1", "train", "{A} has {x} {items} and gives half of them to {B}. How many {items} does {B} get?"),
    ("fraction/half/t2", "train", "Half of the {x} {items} at a market are sold by noon. How many {items} are sold by noon?"),
    ("fraction/third/t1", "train", "{A} uses a third of {A.his} {x} {items} for a project. How many {items} does {A.he} use?"),
    ("fraction/third/t2", "train", "A third of the {x} {items} in a shop are on sale. The shop also sells {noise} {others}. How many {items} are on sale?"),
    ("fraction/third_left/t1", "train", "{A} has {x} {items} and gives a third of them to {B}. How many {items} does {A} have left?"),
    ("fraction/third_left/t2", "train", "A shop had {x} {items} and sold a third of them in the morning. How many {items} were still unsold?"),
    ("fraction/half_left_buy/t1", "train", "{A} had {x} {items}. {A.He} sold half of them and then bought {y} more. How many {items} does {A.he} have now?"),
    ("fraction/half_left_buy/t2", "train", "How many {items} does {A} have after giving half of {A.his} {x} {items} to {B} and then finding {y} more?"),
    ("fraction/half_left_buy/t3", "train", "A library had {x} {items}. It gave away half of them, then received {y} new ones. It also owns {noise} {others}. How many {items} does it have now?"),
    ("fraction/half/t3", "dev", "A crew of painters used one half of the {x} {items} in the storeroom. What number of {items} did they use?"),
    ("fraction/third/t3", "dev", "One third of the {x} {items} that a florist ordered came late. What number of {items} came late?"),
    ("fraction/third_left/t3", "dev", "Of {A}'s {x} {items}, one third went to a school fair. What number of {items} did {A.he} still hold afterwards?"),
    ("fraction/third_left/t4", "dev", "A grocer had {x} {items} and threw out one third of them as spoiled. What number of {items} remained fit to sell?"),
    ("fraction/half_left_buy/t4", "dev", "{B} started out holding {x} {items}, sold one half of them at a flea market and later picked up {y} more. What number did {B.he} finish with?"),
    ("fraction/half_left_buy/t5", "dev", "A school kept {x} {items} in a cupboard. One half went to another school, and later {y} new ones arrived. What number of {items} were in the cupboard then?"),
    ("fraction/half/t4", "ood", "Suppose {A} splits {x} {items} down the middle with {B}. Then what count does {B} walk away with?"),
    ("fraction/third/t4", "ood", "What count is one third out of {x} {items} that a baker sets out?"),
    ("fraction/third_left/t5", "ood", "Imagine {A} parting with one third out of {x} {items}. What count remains in {A.his} hands?"),
    ("fraction/third_left/t6", "ood", "Picture a stall with {x} {items}; one third vanish before lunch. What count is still there after lunch?"),
    ("fraction/half_left_buy/t6", "ood", "Suppose {A} begins holding {x} {items}, parts with one half, and later gains {y} more. Then what count does {A.he} hold?"),
    ("fraction/half_left_buy/t7", "ood", "What count ends up in a crate that held {x} {items}, once one half get taken out and {y} fresh ones are tossed in?"),

    # chain: dependent steps on a running count
    ("chain/give_buy/t1", "train", "{A} has {a} {items}. {A.He} gives {b} to {B} and then buys {c} more. How many {items} does {A.he} have now?"),
    ("chain/give_buy/t2", "train", "How many {items} does {A} have left after {A.he} gives {b} to {B} and buys {c} more, starting from {a}?"),
    ("chain/give_buy/t3", "train", "There are {a} {items} in a storeroom. Workers take out {b} and bring in {c} new ones. The storeroom is {noise} steps from the gate. How many {items} are in the storeroom now?"),
    ("chain/buy_give/t1", "train", "{A} starts the week with {a} {items}. {A.He} buys {p} {containers} with {k} {items} in each, then gives {g} {items} to {B}. How many {items} does {A.he} end up with?"),
    ("chain/buy_give/t2", "train", "A shop had {a} {items}, received {p} {containers} of {k} {items} each, and sold {g} {items}. How many {items} does the shop have now?"),
    ("chain/buy_give/t3", "train", "How many {items} does {A} have after {A.he} adds {p} {containers} of {k} {items} to the {a} {items} {A.he} already has and then loses {g}?"),
    ("chain/four/t1", "train", "{A} has {a} {items}. {A.He} buys {p} {containers} of {k} {items}, gives {g} to {B}, and sells {e} of them. How many {items} does {A.he} have left?"),
    ("chain/four/t2", "train", "A warehouse holds {a} {items}. A truck delivers {p} {containers} with {k} {items} in each. Then {g} {items} are sent to one store and {e} to another. How many {items} remain in the warehouse?"),
    ("chain/give_buy/t4", "dev", "{B} held {a} {items}, lent {b} to a neighbor and later bought another {c}. What number of {items} did {B.he} hold at the end?"),
    ("chain/give_buy/t5", "dev", "A classroom cupboard held {a} {items}. The teacher removed {b}, and a parent donated {c}. What number of {items} did the cupboard then hold?"),
    ("chain/buy_give/t4", "dev", "{A} owned {a} {items}, ordered {p} {containers} holding {k} apiece, and later donated {g}. What number of {items} did {A.he} own at the end?"),
    ("chain/buy_give/t5", "dev", "A depot stocked {a} {items}, took delivery of {p} {containers} at {k} apiece, and dispatched {g}. What was the closing stock of {items}?"),
    ("chain/four/t3", "dev", "Beginning with {a} {items}, {B} bought {p} {containers} holding {k} apiece, donated {g} and sold another {e}. What number of {items} did {B.he} finish with?"),
    ("chain/four/t4", "dev", "A food bank held {a} {items}. It received {p} {containers} at {k} apiece, handed {g} to one shelter and {e} to another. What was its closing stock?"),
    ("chain/give_buy/t6", "ood", "Suppose {A} begins holding {a} {items}, hands off {b}, then grabs {c} extra. Then what count does {A.he} hold?"),
    ("chain/give_buy/t7", "ood", "What count sits in a bin holding {a} {items} once {b} get pulled out and {c} get tossed in?"),
    ("chain/buy_give/t6", "ood", "Imagine {A} with {a} {items} picking up {p} {containers} of {k} and then parting with {g}. What count stays with {A.him}?"),
    ("chain/buy_give/t7", "ood", "Picture a pantry: {a} {items}, plus {p} {containers} of {k} arriving, minus {g} going out. What count is left on its shelves?"),
    ("chain/four/t5", "ood", "Suppose {A} holds {a} {items}, gains {p} {containers} of {k}, hands {g} to {B} and trades away {e}. Then what count stays with {A.him}?"),
    ("chain/four/t6", "ood", "What count remains at a market stall that holds {a} {items}, gains {p} {containers} of {k}, then loses {g} to spoilage and {e} to buyers?"),

    # savings: how long until a goal
    ("savings/weeks/t1", "train", "{A} saves {r} each week. How many weeks does it take {A.him} to save {goal}?"),
    ("savings/weeks/t2", "train", "A bike costs {goal}. If {A} puts away {r} per week, how many weeks will it take to buy it?"),
    ("savings/weeks_have/t1", "train", "{A} wants a game console that costs {goal}. {A.He} has {have} and saves {r} per week. How many weeks until {A.he} can buy it?"),
    ("savings/weeks_have/t2", "train", "{A} has saved {have} toward a trip that costs {goal}. Saving {r} each week, how many more weeks does {A.he} need?"),
    ("savings/hours/t1", "train", "{A} earns {w} per hour and works {h} hours each week. {A.He} has {have} and needs {goal} for a laptop. How many weeks must {A.he} work?"),
    ("savings/hours/t2", "train", "How many weeks will it take {A} to go from {have} to {goal} if {A.he} earns {w} per hour for {h} hours a week?"),
    ("savings/spend/t1", "train", "{A} works {h} hours a week at {w} per hour and spends {e} of it each week. {A.He} has {have} and wants {goal}. How many weeks will it take?"),
    ("savings/spend/t2", "train", "{A} earns {w} per hour for {h} hours each week and spends {e} a week on food. Starting from {have}, how many weeks does {A.he} need to reach {goal}?"),
    ("savings/weeks/t3", "dev", "A club set aside {r} a week toward a prize fund of {goal}. What number of weeks did the fund take to fill?"),
    ("savings/weeks/t4", "dev", "{B} deposited {r} into a jar every week until it held {goal}. What number of weeks passed?"),
    ("savings/weeks_have/t3", "dev", "A family had {have} put by for a sofa costing {goal} and added {r} weekly. What number of weeks did the rest take?"),
    ("savings/weeks_have/t4", "dev", "With {have} already in the bank, {B} deposited {r} weekly toward a goal of {goal}. What number of weeks did reaching the goal take?"),
    ("savings/hours/t3", "dev", "{A} was paid {w} an hour for {h} hours weekly. Holding {have}, {A.he} aimed at {goal}. What number of weeks did that take?"),
    ("savings/hours/t4", "dev", "A tutor with {have} in savings earned {w} an hour over {h} hours weekly, aiming at {goal}. What number of weeks was needed?"),
    ("savings/spend/t3", "dev", "{B} was paid {w} an hour for {h} hours weekly, paid out {e} a week for rent and held {have}. What number of weeks did growing that to {goal} take?"),
    ("savings/spend/t4", "dev", "A student held {have}, worked {h} hours weekly at {w} an hour and paid out {e} weekly for bus fares. What number of weeks did reaching {goal} take?"),
    ("savings/weeks/t5", "ood", "Suppose you tuck {r} away weekly. Then reaching {goal} takes what count of weeks?"),
    ("savings/weeks/t6", "ood", "What count of weeks brings a piggy bank to {goal} if {A} drops {r} into it weekly?"),
    ("savings/weeks_have/t5", "ood", "Imagine {A} holding {have}, adding {r} weekly, chasing a target of {goal}. What count of weeks gets {A.him} there?"),
    ("savings/weeks_have/t6", "ood", "Picture a jar with {have} that grows by {r} weekly until it hits {goal}. What count of weeks is that?"),
    ("savings/hours/t5", "ood", "Suppose {A} makes {w} hourly, clocks {h} hours weekly, holds {have} and targets {goal}. Then what count of weeks is needed?"),
    ("savings/hours/t6", "ood", "What count of weeks lifts {A}'s {have} to {goal} when {A.he} makes {w} hourly across {h} hours weekly?"),
    ("savings/spend/t5", "ood", "Imagine {A} making {w} hourly for {h} hours weekly, burning {e} weekly on snacks, holding {have}, targeting {goal}. What count of weeks is needed?"),
    ("savings/spend/t6", "ood", "Picture {A}: {w} hourly, {h} hours weekly, {e} weekly gone on fares, {have} banked, {goal} wanted. What count of weeks gets {A.him} there?"),
)
# fmt: on
