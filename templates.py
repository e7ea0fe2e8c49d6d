"""Vocabulary and question templates for dataset.py (data only).

A template is (id, pool, text). The id is "family/shape/tN": dataset.py's SHAPES maps "family/shape" to its step
count and to the function that draws the numbers and builds the expression. The pool says which split may use it:
"train" (train and test splits), "train-only" (the train split only: added after the test set was frozen), "dev"
(dev split only), "ood" (test-ood split only). Dev and ood templates are worded differently from train and
train-only ones (no 6 words in a row shared; a test checks). Train wording writes percentages as "%" only; dev's
"percent" is a word training never shows.

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
    ("times/product/t5", "dev", "At the fair, {A} won {a} {items}, and {B} won {n} times that many. How many did {B} win?"),
    ("times/twice/t3", "dev", "{A} has a collection of {a} {items}. {B}'s collection is twice as big. How many {items} make up {B}'s collection?"),
    ("times/together/t3", "dev", "A warehouse keeps {a} {items} in its small room and {n} times as many in its big room. How many {items} are stored in the two rooms?"),
    ("times/together/t4", "dev", "{A} baked {a} {items} for a bake sale, and {B} baked {n} times that many. How many {items} did they bake altogether?"),
    ("times/plus/t3", "dev", "Three stalls sold {items} at a market. The first sold {a}, the second sold {n} times as many as the first, and the third sold {m} more than the second. How many {items} did the first and third stalls sell in total?"),
    ("times/plus/t4", "dev", "{A} gathered {a} {items}. {B} gathered {n} times {A}'s amount, and {C} gathered {m} more than {B}. What is the total number of {items} that {A} and {C} gathered?"),
    ("times/three/t3", "dev", "A library lent out {a} {items} in June. In July it lent out {n} times the June number, and in August {k} times the June number. How many {items} did it lend out over the three months?"),
    ("times/three/t4", "dev", "{A} owns {a} {items}. {B} owns {n} times {A}'s number, and {C} owns {k} times {A}'s number. What is the total number of {items} the three of them own?"),
    ("times/product/t6", "ood", "{A} packed {a} {items} for a school trip, and {B} packed {n} times that number. How many {items} did {B} pack?"),
    ("times/triple/t2", "ood", "There are {a} {items} on the top shelf of a pantry and three times as many on the bottom shelf. How many {items} are on the bottom shelf?"),
    ("times/together/t5", "ood", "At a festival, the first stand gave away {a} {items} and the second stand gave away {n} times that many. Altogether, how many {items} did the two stands give away?"),
    ("times/together/t6", "ood", "{A} owns {a} {items}, and {B} owns {n} times that number. How many {items} do the two of them own altogether?"),
    ("times/plus/t5", "ood", "{A} stacked {a} {items}. {B} stacked {n} times that many, and {C} stacked {m} more than {B}. Together, how many {items} did {A} and {C} stack?"),
    ("times/plus/t6", "ood", "A museum shop sold {a} {items} in the spring. Summer sales were {n} times the spring sales, and autumn sales were {m} more than summer sales. How many {items} did the shop sell in spring and autumn together?"),
    ("times/three/t5", "ood", "{A} brought {a} {items} to the picnic. {B} brought {n} times that many, and {C} brought {k} times what {A} brought. How many {items} did the three friends bring in all?"),
    ("times/three/t6", "ood", "A food drive collected {a} {items} on Monday. On Tuesday the total was {n} times Monday's, and on Wednesday it was {k} times Monday's. How many {items} were collected on the three days?"),

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
    ("compare/more/t3", "dev", "{A} counted {a} {items} at the depot. {B} counted {m} more than that. How many {items} did {B} count?"),
    ("compare/fewer/t4", "dev", "A garden produced {a} {items} in its first season and {m} fewer in its second season. How many {items} did it produce in the second season?"),
    ("compare/total/t3", "dev", "The morning shift packed {a} {items}, and the evening shift packed {m} more than the morning shift. How many {items} did both shifts pack in total?"),
    ("compare/then_fewer/t3", "dev", "{A} stocked {a} {items} on the shelves, {B} stocked {m} more than {A}, and {C} stocked {k} fewer than {B} did. How many did {C} stock?"),
    ("compare/more/t4", "ood", "A pantry holds {a} {items}. The cellar holds {m} more {items} than the pantry. How many {items} does the cellar hold?"),
    ("compare/fewer/t5", "ood", "{A} is carrying {a} {items}. {B} is carrying {m} fewer. How many {items} is {B} carrying?"),
    ("compare/total/t4", "ood", "{A} brought {a} {items} to a picnic, and {B} brought {m} more than {A} did. How many {items} did the two of them bring?"),
    ("compare/total/t5", "ood", "Two tables at a craft fair display {items}. The first table has {a}, and the second has {m} more than the first. How many {items} are on the two tables?"),
    ("compare/then_fewer/t4", "ood", "{C} owns {k} fewer {items} than {B}. {B} owns {m} more than {A}, who owns {a}. How many {items} belong to {C}?"),
    ("compare/then_fewer/t5", "ood", "Drawer one holds {a} {items}. Drawer two holds {m} more than drawer one, and drawer three holds {k} fewer than drawer two. How many {items} are in drawer three?"),

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
    ("rate/product/t4", "dev", "A worker labels {r} {items} an hour. How many {items} does the worker label in {t} hours?"),
    ("rate/product/t5", "dev", "A factory fills {t} {containers}, putting {r} {items} into each. How many {items} are used in all?"),
    ("rate/plus/t3", "dev", "A depot started with {c} {items}. Each day for {t} days, it took in another {r}. How many {items} did the depot have at the end?"),
    ("rate/plus/t4", "dev", "{B} had {c} {items} in storage and then unloaded {t} {containers} holding {r} each. How many {items} are in storage now?"),
    ("rate/two/t3", "dev", "During a sale, a kiosk sold {r} {items} an hour for {t} hours and then {r2} an hour for the next {t2} hours. In total, how many {items} were sold?"),
    ("rate/two/t4", "dev", "A truck carried {t} {containers} with {r} {items} apiece, and a van carried {t2} {containers} with {r2} {items} apiece. How many {items} did they carry in all?"),
    ("rate/two_less/t3", "dev", "{A} sorted {r} {items} an hour for {t} hours and {r2} an hour for {t2} hours. Afterwards, {c} of them were found damaged. How many {items} were not damaged?"),
    ("rate/two_less/t4", "dev", "A pantry received {t} {containers} with {r} {items} apiece and {t2} {containers} with {r2} apiece, then gave {c} {items} to a shelter. How many {items} are still in the pantry?"),
    ("rate/product/t6", "ood", "A robot wraps {r} {items} every hour. How many {items} will it wrap if it runs for {t} hours?"),
    ("rate/product/t7", "ood", "There are {t} {containers} on a shelf, and each one holds {r} {items}. Altogether, how many {items} are on the shelf?"),
    ("rate/plus/t5", "ood", "{A} had {c} {items}. For the next {t} days, {A.he} got another {r} every day. By the end, how many {items} does {A.he} own?"),
    ("rate/plus/t6", "ood", "A shed held {c} {items}. Then {t} {containers} arrived with {r} {items} in every one. How many {items} does the shed hold now?"),
    ("rate/two/t5", "ood", "For the first {t} hours a robot wraps {r} {items} per hour, and for the next {t2} hours it wraps {r2} per hour. In all, how many {items} does it wrap?"),
    ("rate/two/t6", "ood", "A dock receives {t} {containers} holding {r} {items} apiece, then {t2} more {containers} holding {r2} apiece. How many {items} arrive in total?"),
    ("rate/two_less/t5", "ood", "{A} works for {t} hours making {r} {items} an hour, then for {t2} hours making {r2} an hour. {A.He} gives {c} of them to a neighbor. How many {items} are left for {A.him}?"),
    ("rate/two_less/t6", "ood", "A warehouse gets {t} {containers}, each with {r} {items}, and {t2} {containers}, each with {r2} {items}. It then ships {c} {items} to stores. How many {items} are left in the warehouse?"),

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
    ("cost/total/t3", "dev", "The price tag on {a_item} says {p}. How much does {A} pay, in dollars, for {q} of them?"),
    ("cost/dozen/t2", "dev", "At the market, {items} are priced at {p} apiece. How much does {A} pay, in dollars, for twelve of them?"),
    ("cost/change/t3", "dev", "{A} gives the cashier {note} to pay for {q} {items}. Each one is {p}. How much change is {A.he} given, in dollars?"),
    ("cost/change/t4", "dev", "{A} had {note} in {A.his} wallet and bought {q} {items} for {p} apiece. How much money was left in the wallet, in dollars?"),
    ("cost/two/t3", "dev", "A receipt lists {q} {items} for {p} apiece and {q2} {items2} for {p2} apiece. What is the total on the receipt, in dollars?"),
    ("cost/two/t4", "dev", "For a party, {B} picked up {q} {items} costing {p} each and {q2} {items2} costing {p2} each. How much did {B.he} spend altogether, in dollars?"),
    ("cost/two_change/t3", "dev", "{A} bought {q} {items} and {q2} {items2} and gave the clerk {note}. The {items} were {p} each and the {items2} were {p2} each. How much change did {A.he} get, in dollars?"),
    ("cost/two_change/t4", "dev", "{B} had {note} and bought {q} {items} costing {p} each and {q2} {items2} costing {p2} each. How much money did {B.he} have left, in dollars?"),
    ("cost/total/t4", "ood", "A kiosk sells {items} for {p} each. How much will {q} {items} cost, in dollars?"),
    ("cost/dozen/t3", "ood", "A corner shop sells {items} for {p} apiece. What does {A} pay for a dozen of them, in dollars?"),
    ("cost/change/t5", "ood", "{A} pays for {q} {items} with {note}. The {items} are {p} each. How much change should {A.he} get back, in dollars?"),
    ("cost/change/t6", "ood", "{A} takes {note} to the store and spends part of it on {q} {items} at {p} apiece. How many dollars does {A.he} bring home?"),
    ("cost/two/t5", "ood", "At a market, {A} gets {q} {items} for {p} each, plus {q2} {items2} for {p2} each. What does {A.he} spend in all, in dollars?"),
    ("cost/two/t6", "ood", "{A} needs {q} {items}, which cost {p} each, and {q2} {items2}, which cost {p2} each. How much will {A.he} pay in total, in dollars?"),
    ("cost/two_change/t5", "ood", "{A} pays for {q} {items} and {q2} {items2} with {note}. The {items} cost {p} each, and the {items2} cost {p2} each. What change does {A.he} receive, in dollars?"),
    ("cost/two_change/t6", "ood", "{A} hands over {note} for {q} {items} that cost {p} apiece and {q2} {items2} that cost {p2} apiece. How much money does {A.he} get back, in dollars?"),

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
    ("share/each/t4", "dev", "A teacher hands out {t} {items} to {d} students, giving every student the same number. How many {items} does every student get?"),
    ("share/each/t5", "dev", "The {t} {items} from a harvest are packed into {d} {containers}, the same number in each. How many {items} end up in every {container}?"),
    ("share/keep/t3", "dev", "Out of {t} {items}, {A} kept {k} and split the rest evenly among {d} {group}. How many did each of them receive?"),
    ("share/keep/t4", "dev", "A caterer made {t} {items}, saved {k} for the staff, and divided the rest evenly among {d} tables. How many {items} went on each table?"),
    ("share/packs/t3", "dev", "{B} added {p} {containers} with {k} apiece to a pile of {h} {items}. Then {B.he} shared the whole pile out evenly to {d} {group}. How many did each of them get?"),
    ("share/packs/t4", "dev", "A shelter received {p} {containers} with {k} {items} apiece and {h} single {items}. It divided them evenly among {d} families. How many {items} did each family get?"),
    ("share/packs_give/t3", "dev", "{A} had {h} {items} and bought {p} {containers} with {k} apiece. {A.He} gave {g} to {B} and split the remaining {items} evenly among {d} {group}. How many did each of them get?"),
    ("share/packs_give/t4", "dev", "A camp had {h} {items} and got {p} {containers} of {k} more. Of these, {g} spoiled, and the rest were split evenly among {d} cabins. How many {items} did each cabin get?"),
    ("share/each/t6", "ood", "{A} wants to give {t} {items} to {d} {group} so that everyone gets an equal share. How many {items} will each person get?"),
    ("share/each/t7", "ood", "A farmer puts {t} {items} into {d} {containers}, with the same number in every one. How many {items} go into one {container}?"),
    ("share/keep/t5", "ood", "{A} has {t} {items}. {A.He} keeps {k} and gives the others to {d} {group} in equal shares. How many {items} is each share?"),
    ("share/keep/t6", "ood", "A stall has {t} {items}. The owner sets {k} aside and puts the others into {d} {containers}, with an equal number in every one. How many {items} go in each {container}?"),
    ("share/packs/t5", "ood", "{A} has {h} {items} on hand plus {p} full {containers}, each holding {k}. {A.He} gives all of them out to {d} {group}, the same number to each. How many {items} does each person get?"),
    ("share/packs/t6", "ood", "There are {p} {containers} holding {k} {items} each and {h} more {items} on a table, and {d} {group} split them evenly. How many {items} does each person receive?"),
    ("share/packs_give/t5", "ood", "{A} starts with {h} {items} and gets {p} {containers} of {k} more. After giving {g} to {B}, {A.he} hands out the rest to {d} {group} in equal shares. How many {items} is each share?"),
    ("share/packs_give/t6", "ood", "A food bank has {h} {items}, and a donor brings {p} more {containers} of {k}. After {g} of them spoil, the rest are shared equally by {d} families. How many {items} does each family get?"),

    # remainder: what is left over after sharing or packing
    ("remainder/left/t1", "train", "{A} shares {t} {items} equally among {d} {group}, giving each as many as possible. How many {items} are left over?"),
    ("remainder/left/t2", "train", "{t} {items} are packed into {containers} of {d}. How many {items} are left over after filling as many {containers} as possible?"),
    ("remainder/full/t1", "train", "A shop packs {t} {items} into {containers} that hold {d} each. How many full {containers} can it make?"),
    ("remainder/full/t2", "train", "{A} has {t} {items} and puts {d} in each {container}. How many {containers} can {A.he} fill completely?"),
    ("remainder/keep_left/t1", "train", "{A} has {t} {items}, keeps {k} for later, and shares the rest equally among {d} {group}. How many {items} are left over?"),
    ("remainder/keep_left/t2", "train", "A bakery makes {t} {items}, sells {k} of them, and packs the rest into {containers} of {d}. How many {items} are left over?"),
    ("remainder/packs_left/t1", "train", "{A} has {h} {items} and buys {p} {containers} of {k} more. {A.He} then packs them all into bags of {d}. How many {items} are left over?"),
    ("remainder/packs_left/t2", "train", "How many {items} are left over if {A} puts {p} {containers} of {k} {items} and {h} loose {items} into groups of {d}?"),
    ("remainder/left/t3", "dev", "A coach shares {t} {items} among {d} players, giving every player the largest equal share possible. How many {items} does the coach have left?"),
    ("remainder/full/t3", "dev", "A packing line puts {d} {items} into every {container}. How many {containers} can it fill completely from {t} {items}?"),
    ("remainder/keep_left/t3", "dev", "{A} set aside {k} of {A.his} {t} {items} and divided the rest among {d} {group}, giving each one the largest equal share possible. How many {items} were left unshared?"),
    ("remainder/keep_left/t4", "dev", "From {t} {items}, a grocer sold {k} and then filled as many {containers} of {d} as possible with the rest. How many {items} did not fit in a full {container}?"),
    ("remainder/packs_left/t3", "dev", "{B} had {h} {items} and added {p} {containers} of {k} apiece. Then {B.he} made bundles of {d} from them. How many {items} were not in a full bundle?"),
    ("remainder/packs_left/t4", "dev", "A depot had {h} {items} and took in {p} {containers} of {k} apiece. Workers packed all of them into crates of {d}. How many {items} were left unpacked?"),
    ("remainder/left/t4", "ood", "{A} has {t} {items} to hand out to {d} {group}. If each gets the same number and that number is as large as possible, how many {items} does {A} still have?"),
    ("remainder/full/t4", "ood", "How many full {containers} of {d} can be made from {t} {items}?"),
    ("remainder/keep_left/t5", "ood", "{A} has {t} {items}. {A.He} keeps {k} and hands out the rest to {d} {group}, giving each an equal share that is as large as possible. How many {items} stay with {A.him}?"),
    ("remainder/keep_left/t6", "ood", "A stall had {t} {items} and sold {k} of them. The rest go into {containers} of {d}, filling as many of them as it can. How many {items} do not fit into a full {container}?"),
    ("remainder/packs_left/t5", "ood", "{A} puts {h} loose {items} together with {p} {containers} of {k}, then ties them into bundles of {d}. How many {items} end up outside a full bundle?"),
    ("remainder/packs_left/t6", "ood", "After {h} loose {items} are added to {p} {containers} of {k}, everything is sorted into groups of {d}. How many {items} remain?"),

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
    ("percent/of/t4", "dev", "A survey checked {x} {items}, and {p} percent of them were faulty. How many {items} were faulty?"),
    ("percent/of/t5", "dev", "{p} percent of the {x} {items} brought to a fair were given away as prizes. How many {items} were given away?"),
    ("percent/discount/t3", "dev", "{A} found {a_container} of {items} with a price tag of {x} and got {p} percent off at the register. How much did {A.he} pay, in dollars?"),
    ("percent/increase/t3", "dev", "A supplier had {x} {items} in stock. A month later its stock had gone up by {p} percent. How many {items} did it have in stock then?"),
    ("percent/discount_change/t3", "dev", "{A} paid with {note} for {a_container} of {items} that was priced at {x} but marked down by {p} percent. How much change did {A.he} get, in dollars?"),
    ("percent/discount_change/t4", "dev", "During a clearance sale, {a_container} of {items} that normally costs {x} was reduced by {p} percent. {B} paid with {note}. How much money did {B.he} get back, in dollars?"),
    ("percent/of/t6", "ood", "A batch has {x} {items}, and {p}% of them turn out to be cracked. How many {items} are cracked?"),
    ("percent/of/t7", "ood", "A charity received {x} {items} and gave {p}% of them to a local school. How many {items} went to the school?"),
    ("percent/discount/t4", "ood", "At a shop, {a_container} of {items} costs {x}. This week it is {p}% off. How much does it cost now, in dollars?"),
    ("percent/increase/t4", "ood", "A storeroom has {x} {items}. By next spring the stock will grow by {p}%. How many {items} will the storeroom have then?"),
    ("percent/discount_change/t5", "ood", "{A} buys {a_container} of {items} that usually costs {x}. Today it is {p}% off, and {A.he} pays with {note}. How many dollars does {A.he} get back?"),
    ("percent/discount_change/t6", "ood", "{A} buys {a_container} of {items} with {note}. The regular price is {x}, but it is {p}% off today. How much change should {A.he} receive, in dollars?"),

    # average
    ("average/total/t1", "train", "{A} sells an average of {m} {items} per day. How many {items} does {A.he} sell in {n} days?"),
    ("average/total/t2", "train", "A machine makes {m} {items} per hour on average. At that rate, how many {items} does it make in {n} hours?"),
    ("average/two/t1", "train", "{A} picked {a} {items} on Monday and {b} {items} on Tuesday. What is the average number of {items} {A.he} picked per day?"),
    ("average/two/t2", "train", "Two {containers} hold {a} and {b} {items}. What is the average number of {items} per {container}?"),
    ("average/three/t1", "train", "Over three days a stall sold {a}, {b} and {c} {items}. What was the average number of {items} sold per day?"),
    ("average/three/t2", "train", "{A}, {B} and {C} collected {a}, {b} and {c} {items}. On average, how many {items} did each of them collect?"),
    ("average/four/t1", "train", "A shop sold {a} {items} in week one, {b} in week two, {c} in week three and {d} in week four. What is the average number of {items} sold per week?"),
    ("average/four/t2", "train", "Four {containers} contain {a}, {b}, {c} and {d} {items}. The shop also has {noise} {others}. What is the average number of {items} in {a_container}?"),
    ("average/total/t3", "dev", "A packer handles {m} {items} per shift on average. How many {items} does the packer handle in {n} shifts?"),
    ("average/total/t4", "dev", "Over {n} days, a market stand sold an average of {m} {items} a day. How many {items} did the stand sell in all?"),
    ("average/two/t3", "dev", "Two volunteers collected {items}, one {a} and the other {b}. On average, how many did each volunteer collect?"),
    ("average/two/t4", "dev", "A farmer filled two {containers}, one with {a} {items} and the other with {b}. How many {items} is that per {container}, on average?"),
    ("average/three/t3", "dev", "Three classrooms received {items}: {a}, {b} and {c}. What was the average per classroom?"),
    ("average/three/t4", "dev", "{A} bought {items} three times at the market: {a}, {b} and {c}. How many did {A.he} buy per visit, on average?"),
    ("average/four/t3", "dev", "Four trucks delivered {items}: {a}, {b}, {c} and {d}. What was the average load per truck?"),
    ("average/four/t4", "dev", "Over four months a club sold {items}: {a}, {b}, {c} and {d}. How many {items} did the club sell per month on average?"),
    ("average/total/t5", "ood", "On average, a kiosk sells {m} {items} a day. At this rate, how many {items} would it sell in {n} days?"),
    ("average/total/t6", "ood", "A picker gathers an average of {m} {items} each morning. How many {items} does the picker gather in {n} mornings?"),
    ("average/two/t5", "ood", "One basket has {a} {items} and another has {b}. If the {items} were split evenly between the two baskets, how many would each one hold?"),
    ("average/two/t6", "ood", "{A} owns {a} {items}, and {B} owns {b}. If they put their {items} together and share them equally, how many will each of them have?"),
    ("average/three/t5", "ood", "Three shelves hold {items}: {a} on the first, {b} on the second and {c} on the third. On average, how many {items} are on a shelf?"),
    ("average/three/t6", "ood", "Three friends have {a}, {b} and {c} {items}. They put them all together and share them equally. How many {items} does each friend get?"),
    ("average/four/t5", "ood", "If the {items} in four bins, which hold {a}, {b}, {c} and {d}, were shared out equally among the bins, how many would each bin hold?"),
    ("average/four/t6", "ood", "Four lockers hold {items}. The first has {a}, the second {b}, the third {c} and the fourth {d}. If the {items} are moved around so that every locker holds an equal number, how many {items} will be in each locker?"),

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
    ("fraction/half/t3", "dev", "A school used half of its {x} {items} for a fair. How many {items} did it use?"),
    ("fraction/third/t3", "dev", "A florist ordered {x} {items}, and one third of them arrived late. How many {items} arrived late?"),
    ("fraction/third_left/t3", "dev", "{A} gave one third of {A.his} {x} {items} to a school fair. How many {items} did {A.he} keep?"),
    ("fraction/third_left/t4", "dev", "A grocer had {x} {items} and threw out one third of them because they were spoiled. How many {items} were left to sell?"),
    ("fraction/half_left_buy/t4", "dev", "{B} sold half of {B.his} {x} {items} at a flea market and later bought {y} more at a yard sale. How many {items} did {B.he} own after that?"),
    ("fraction/half_left_buy/t5", "dev", "A school kept {x} {items} in a cupboard. It gave half of them to another school, and later {y} new ones arrived. How many {items} were in the cupboard then?"),
    ("fraction/half/t4", "ood", "{A} and {B} split {x} {items} equally between them. How many {items} go to {B}?"),
    ("fraction/third/t4", "ood", "A baker made {x} {items} and sold one third of them before noon. How many {items} were sold before noon?"),
    ("fraction/third_left/t5", "ood", "{A} had {x} {items} and gave away one third. How many {items} does {A.he} still have?"),
    ("fraction/third_left/t6", "ood", "A stall had {x} {items} in the morning. One third of them were sold before lunch. How many {items} were still there after lunch?"),
    ("fraction/half_left_buy/t6", "ood", "{A} had {x} {items}. {A.He} gave half of them to {B} and later got {y} more from a friend. How many {items} does {A.he} own now?"),
    ("fraction/half_left_buy/t7", "ood", "A crate held {x} {items}. Half of them were taken out, and then {y} new ones were put in. How many {items} does the crate hold now?"),

    # chain: dependent steps on a running count
    ("chain/give_buy/t1", "train", "{A} has {a} {items}. {A.He} gives {b} to {B} and then buys {c} more. How many {items} does {A.he} have now?"),
    ("chain/give_buy/t2", "train", "How many {items} does {A} have left after {A.he} gives {b} to {B} and buys {c} more, starting from {a}?"),
    ("chain/give_buy/t3", "train", "There are {a} {items} in a storeroom. Workers take out {b} and bring in {c} new ones. The storeroom is {noise} steps from the gate. How many {items} are in the storeroom now?"),
    ("chain/buy_give/t1", "train", "{A} starts the week with {a} {items}. {A.He} buys {p} {containers} with {k} {items} in each, then gives {g} {items} to {B}. How many {items} does {A.he} end up with?"),
    ("chain/buy_give/t2", "train", "A shop had {a} {items}, received {p} {containers} of {k} {items} each, and sold {g} {items}. How many {items} does the shop have now?"),
    ("chain/buy_give/t3", "train", "How many {items} does {A} have after {A.he} adds {p} {containers} of {k} {items} to the {a} {items} {A.he} already has and then loses {g}?"),
    ("chain/four/t1", "train", "{A} has {a} {items}. {A.He} buys {p} {containers} of {k} {items}, gives {g} to {B}, and sells {e} of them. How many {items} does {A.he} have left?"),
    ("chain/four/t2", "train", "A warehouse holds {a} {items}. A truck delivers {p} {containers} with {k} {items} in each. Then {g} {items} are sent to one store and {e} to another. How many {items} remain in the warehouse?"),
    ("chain/give_buy/t4", "dev", "{B} had {a} {items}, lent {b} to a neighbor, and later bought {c} more at the market. How many {items} did {B.he} end with?"),
    ("chain/give_buy/t5", "dev", "A classroom cupboard had {a} {items}. The teacher took out {b}, and a parent donated {c} to the class. How many {items} does the cupboard hold now?"),
    ("chain/buy_give/t4", "dev", "{A} had {a} {items}, ordered {p} {containers} with {k} in each, and later donated {g} to a school. How many {items} did {A.he} still own?"),
    ("chain/buy_give/t5", "dev", "A depot had {a} {items} in stock. It took delivery of {p} {containers} of {k} each and then sent out {g}. How many {items} were left in stock?"),
    ("chain/four/t3", "dev", "{B} started with {a} {items}, picked up {p} {containers} of {k}, gave away {g}, and sold {e} at a fair. How many {items} did {B.he} end up with?"),
    ("chain/four/t4", "dev", "A food bank had {a} {items}. It received {p} {containers} of {k} each, then sent {g} to one shelter and {e} to a second shelter. How many {items} does the food bank have now?"),
    ("chain/give_buy/t6", "ood", "{A} started the day with {a} {items}. {A.He} gave {b} away and later bought another {c}. By evening, how many {items} did {A.he} have?"),
    ("chain/give_buy/t7", "ood", "A bin holds {a} {items}. Someone takes out {b}, and later {c} more are added. How many {items} are now in the bin?"),
    ("chain/buy_give/t6", "ood", "{A} had {a} {items}. {A.He} bought {p} {containers} of {k} more and then gave {g} to a friend. How many {items} does {A.he} own now?"),
    ("chain/buy_give/t7", "ood", "A pantry has {a} {items}. Then {p} {containers} with {k} {items} each are delivered, and {g} {items} are used for a dinner. How many {items} are left in the pantry?"),
    ("chain/four/t5", "ood", "{A} has {a} {items}. {A.He} picks up {p} {containers} of {k} at a sale. Later {A.he} gives {B} {g} of them and trades away {e} others. How many {items} does {A} own now?"),
    ("chain/four/t6", "ood", "A market stall starts the day with {a} {items} and receives {p} {containers} of {k} more. During the day, {g} spoil and {e} are sold. How many {items} are left at the end of the day?"),

    # savings: how long until a goal
    ("savings/weeks/t1", "train", "{A} saves {r} each week. How many weeks does it take {A.him} to save {goal}?"),
    ("savings/weeks/t2", "train", "A bike costs {goal}. If {A} puts away {r} per week, how many weeks will it take to buy it?"),
    ("savings/weeks_have/t1", "train", "{A} wants a game console that costs {goal}. {A.He} has {have} and saves {r} per week. How many weeks until {A.he} can buy it?"),
    ("savings/weeks_have/t2", "train", "{A} has saved {have} toward a trip that costs {goal}. Saving {r} each week, how many more weeks does {A.he} need?"),
    ("savings/hours/t1", "train", "{A} earns {w} per hour and works {h} hours each week. {A.He} has {have} and needs {goal} for a laptop. How many weeks must {A.he} work?"),
    ("savings/hours/t2", "train", "How many weeks will it take {A} to go from {have} to {goal} if {A.he} earns {w} per hour for {h} hours a week?"),
    ("savings/spend/t1", "train", "{A} works {h} hours a week at {w} per hour and spends {e} of it each week. {A.He} has {have} and wants {goal}. How many weeks will it take?"),
    ("savings/spend/t2", "train", "{A} earns {w} per hour for {h} hours each week and spends {e} a week on food. Starting from {have}, how many weeks does {A.he} need to reach {goal}?"),
    ("savings/weeks/t3", "dev", "A club puts {r} a week into a prize fund. How many weeks until the fund reaches {goal}?"),
    ("savings/weeks/t4", "dev", "{B} put {r} into a jar every week until it held {goal}. For how many weeks did {B.he} save?"),
    ("savings/weeks_have/t3", "dev", "A family had {have} saved for a sofa that costs {goal}. They put away {r} more every week. How many more weeks do they need?"),
    ("savings/weeks_have/t4", "dev", "{B} already has {have} in a savings account and adds {r} every week. How many weeks until the account reaches {goal}?"),
    ("savings/hours/t3", "dev", "{A} has {have} but needs {goal}. {A.He} works {h} hours every week at {w} an hour. How many weeks will that take?"),
    ("savings/hours/t4", "dev", "A tutor has {have} saved and earns {w} an hour for {h} hours of tutoring each week. How many weeks must the tutor work to have {goal}?"),
    ("savings/spend/t3", "dev", "{B} earns {w} an hour, works {h} hours every week, and pays {e} a week in rent. {B.He} has {have}. How many weeks until {B.he} has {goal}?"),
    ("savings/spend/t4", "dev", "A student has {have} saved, earns {w} an hour for {h} hours of work each week, and pays {e} a week for bus fares. In how many weeks will the student have {goal}?"),
    ("savings/weeks/t5", "ood", "{A} puts {r} into a piggy bank every week. After how many weeks will the piggy bank hold {goal}?"),
    ("savings/weeks/t6", "ood", "A class wants to raise {goal} for a trip and raises {r} a week. How many weeks does the class need?"),
    ("savings/weeks_have/t5", "ood", "{A} has already saved {have} for a bike that costs {goal}. If {A.he} saves {r} a week, how many more weeks until {A.he} has enough?"),
    ("savings/weeks_have/t6", "ood", "A jar has {have} in it. {A} adds {r} every week. After how many weeks will the jar hold {goal}?"),
    ("savings/hours/t5", "ood", "{A} earns {w} an hour and works {h} hours a week. {A.He} has {have} saved and wants {goal} for a new bike. How many weeks does {A.he} have to work?"),
    ("savings/hours/t6", "ood", "{A} has {have} in the bank and gets a job that pays {w} per hour, {h} hours a week. How many weeks will pass before {A.he} has {goal}?"),
    ("savings/spend/t5", "ood", "{A} earns {w} an hour working {h} hours a week, and {A.he} spends {e} of it weekly on snacks. Starting from {have}, how long, in weeks, until {A.he} reaches {goal}?"),
    ("savings/spend/t6", "ood", "Each week {A} works {h} hours for {w} an hour and spends {e} of the pay on bus fares. Starting with {have}, after how many weeks will {A.he} have {goal}?"),

    # More train phrasings (pool "train-only"): the train split draws them beside the "train" ones; the frozen
    # in-template test set predates them.
    ("times/product/t8", "train-only", "How many {items} did {B} sell if {B.his} sales were {n} times {A}'s, and {A} sold {a}?"),
    ("times/product/t9", "train-only", "{A} collected {a} {items}. {B} collected {n} times that amount. What number of {items} did {B} collect?"),
    ("times/product/t10", "train-only", "A small {container} holds {a} {items}. A large one holds {n} times more. How many {items} fit in the large {container}?"),
    ("times/twice/t4", "train-only", "{B} read {a} pages last month and double that this month. How many pages did {B.he} read this month?"),
    ("times/twice/t5", "train-only", "A van carries {a} {items}. A truck carries twice as many. The van is {noise} days old. How many {items} does the truck carry?"),
    ("times/triple/t3", "train-only", "{A} scored {a} points in the first round and three times as many in the second. How many points did {A.he} score in the second round?"),
    ("times/triple/t4", "train-only", "The blue team has {a} {items}. The red team has triple the blue team's number. How many {items} does the red team have?"),
    ("times/together/t7", "train-only", "How many {items} are there in all if one {container} has {a} and another has {n} times as many?"),
    ("times/together/t8", "train-only", "{A} ran {a} meters on Saturday and {n} times as far on Sunday. How many meters did {A.he} run over the weekend?"),
    ("times/plus/t7", "train-only", "Team one scored {a} points. Team two scored {n} times as many as team one, and team three scored {m} more than team two. How many points did teams one and three score between them?"),
    ("times/plus/t8", "train-only", "{C} has {m} more {items} than {B}, and {B} has {n} times as many as {A}. {A} has {a}. How many {items} do {A} and {C} have together?"),
    ("times/three/t7", "train-only", "If {A} has {a} {items}, {B} has {n} times as many as {A}, and {C} has {k} times as many as {A}, how many {items} do they have in all?"),
    ("times/three/t8", "train-only", "A warehouse received {a} {items} on day one, {n} times as many on day two, and {k} times the day-one amount on day three. How many {items} did it receive in those three days?"),

    ("compare/more/t5", "train-only", "{B} walked {m} meters farther than {A}. {A} walked {a} meters. How far did {B} walk, in meters?"),
    ("compare/more/t6", "train-only", "How many {items} are in the new {container} if it has {m} more than the old one, which has {a}?"),
    ("compare/fewer/t6", "train-only", "The second bus carried {m} fewer people than the first. The first carried {a} people. How many people rode the second bus?"),
    ("compare/fewer/t7", "train-only", "{A} has {a} {items} and {noise} {others}. {B} has {m} fewer {items} than {A}. How many {items} does {B} have?"),
    ("compare/total/t6", "train-only", "How many {items} do two {containers} hold together if the first holds {a} and the second holds {m} more than the first?"),
    ("compare/total/t7", "train-only", "{A} wrote {a} words on Monday. On Tuesday {A.he} wrote {m} more words than on Monday. What is the total for both days?"),
    ("compare/then_fewer/t6", "train-only", "Box one has {a} {items}. Box two has {m} more than box one. Box three has {k} fewer than box two. How many {items} does box three have?"),
    ("compare/then_fewer/t7", "train-only", "How many {items} does {C} have if {C} has {k} fewer than {B}, and {B} has {m} more than {A}, who has {a}?"),

    ("rate/product/t8", "train-only", "How many {items} can a machine pack in {t} hours if it packs {r} of them every hour?"),
    ("rate/product/t9", "train-only", "{A} packs {r} {items} into each of {t} {containers}. How many {items} does {A.he} pack?"),
    ("rate/plus/t7", "train-only", "How many {items} will a shop have if it starts with {c} and gets {r} more on each of the next {t} days?"),
    ("rate/plus/t8", "train-only", "{A} owns {c} {items}. {A.He} buys {t} {containers}, and every one has {r} {items} in it. What is the new total of {items}?"),
    ("rate/two/t7", "train-only", "How many {items} did a worker pack in total, working {t} hours at {r} per hour and after that {t2} hours at {r2} per hour?"),
    ("rate/two/t8", "train-only", "{A} delivers {t} {containers}, {r} {items} in each, and {B} delivers {t2} {containers}, {r2} {items} in each. Altogether, how many {items} get delivered?"),
    ("rate/two_less/t7", "train-only", "A machine runs {t} hours at {r} {items} per hour, then {t2} hours at {r2} per hour. {c} of the {items} are rejected. How many {items} are kept?"),
    ("rate/two_less/t8", "train-only", "{A} collects {t} {containers} of {r} {items} and {t2} {containers} of {r2} {items}, then sells {c} of the {items}. How many {items} remain with {A.him}?"),

    ("cost/total/t5", "train-only", "If one {item} sells for {p}, what is the cost of {q} {items}, in dollars?"),
    ("cost/total/t6", "train-only", "{A} orders {q} {items}, and every one of them is {p}. How many dollars does the order come to?"),
    ("cost/dozen/t4", "train-only", "A dozen {items} are needed for a job, and a single {item} costs {p}. What is the cost of the dozen in dollars?"),
    ("cost/dozen/t5", "train-only", "{A} buys twelve {items} at {p} per {item}. What is the total, in dollars?"),
    ("cost/change/t7", "train-only", "What change, in dollars, does {A} receive after paying {note} for {q} {items} at {p} per {item}?"),
    ("cost/change/t8", "train-only", "{A} spends part of {note} on {q} {items} that sell for {p} each. How many dollars does {A.he} still have?"),
    ("cost/two/t7", "train-only", "How much do {q} {items} at {p} per {item} and {q2} {items2} at {p2} per {item2} cost together, in dollars?"),
    ("cost/two/t8", "train-only", "{A} buys {q2} {items2}, each costing {p2}, and {q} {items}, each costing {p}. What does {A.he} pay altogether, in dollars?"),
    ("cost/two_change/t7", "train-only", "{A} has {note}. {A.He} buys {q} {items} for {p} each and {q2} {items2} for {p2} each. How many dollars does {A.he} have after shopping?"),
    ("cost/two_change/t8", "train-only", "A cashier is handed {note} for {q} {items} at {p} each and {q2} {items2} at {p2} each. How much change, in dollars, should the cashier return?"),

    ("share/each/t8", "train-only", "How many {items} does each of {d} {group} get when {t} {items} are split equally among them?"),
    ("share/each/t9", "train-only", "A coach shares all {t} {items} equally among {d} players. What number of {items} does one player get?"),
    ("share/keep/t7", "train-only", "{A} has {t} {items}, keeps {k}, and puts the rest equally into {d} {containers}. What is the number of {items} in each {container}?"),
    ("share/keep/t8", "train-only", "How many {items} does each of {d} {group} get if {A}, who has {t} {items}, keeps {k} and splits the others equally among them?"),
    ("share/packs/t7", "train-only", "{A} combines {h} {items} with {p} {containers} of {k} {items} and divides everything equally among {d} {group}. How many {items} does each one get?"),
    ("share/packs/t8", "train-only", "A storeroom holds {p} {containers} of {k} {items}, and {h} loose {items} lie beside them. All of them are shared equally by {d} {group}. What is each share?"),
    ("share/packs_give/t7", "train-only", "A school gets {p} {containers} of {k} {items} and already has {h}. It uses {g} of the {items}, then splits the rest equally among {d} classes. How many {items} does each class get?"),
    ("share/packs_give/t8", "train-only", "How many {items} does each of {d} {group} receive if {A} starts with {h}, adds {p} {containers} of {k}, gives {g} away, and shares the rest equally among them?"),

    ("remainder/left/t5", "train-only", "{t} {items} are handed out equally to {d} {group}, as many to each as possible. How many {items} are not handed out?"),
    ("remainder/left/t6", "train-only", "{A} sorts {t} {items} into {containers} of {d} and fills as many as possible. How many {items} are left over?"),
    ("remainder/full/t5", "train-only", "How many {containers} can {A} fill completely if {A.he} has {t} {items} and each {container} takes {d}?"),
    ("remainder/full/t6", "train-only", "A teacher has {t} {items} and makes sets of {d}. How many complete sets can the teacher make?"),
    ("remainder/keep_left/t7", "train-only", "How many {items} are left over if {A} keeps {k} of {t} {items} and packs the others into as many full {containers} of {d} as possible?"),
    ("remainder/keep_left/t8", "train-only", "A warehouse has {t} {items}, keeps {k}, and packs the rest into {containers} of {d}. How many of the packed {items} are left over after filling as many {containers} as possible?"),
    ("remainder/packs_left/t7", "train-only", "{A} has {p} {containers} of {k} {items} and {h} more {items}. {A.He} makes piles of {d}. How many {items} are left over?"),
    ("remainder/packs_left/t8", "train-only", "A store puts {p} {containers} of {k} {items} together with {h} extra {items} and then packs bundles of {d}. What number of {items} is left outside the bundles?"),

    ("percent/of/t8", "train-only", "What is {p}% of {x} {items}?"),
    ("percent/of/t9", "train-only", "{A} checked {x} {items}. Of these, {p}% were damaged. How many {items} were damaged?"),
    ("percent/discount/t5", "train-only", "What does {a_container} of {items} marked at {x} cost, in dollars, after {p}% is taken off?"),
    ("percent/discount/t6", "train-only", "{A} buys {a_container} of {items}. Its price is {x}, and the store takes {p}% off. What does {A.he} end up paying, in dollars?"),
    ("percent/increase/t5", "train-only", "A warehouse had {x} {items} in stock. The number went up by {p}%. How many {items} are in stock now?"),
    ("percent/increase/t6", "train-only", "How many {items} does a shop have after its stock of {x} {items} grows by {p}%?"),
    ("percent/discount_change/t7", "train-only", "What change, in dollars, does {A} get from {note} for {a_container} of {items} priced at {x} with {p}% off?"),
    ("percent/discount_change/t8", "train-only", "{A} gives {note} for {a_container} of {items}. The price was {x}, and it is marked {p}% off. How many dollars come back to {A.him}?"),

    ("average/total/t7", "train-only", "How many {items} does a worker pack in {n} days if the worker packs {m} {items} a day on average?"),
    ("average/total/t8", "train-only", "{A} reads an average of {m} pages each week. How many pages does {A.he} read in {n} weeks?"),
    ("average/two/t7", "train-only", "What is the average of {a} and {b}?"),
    ("average/two/t8", "train-only", "{A} scored {a} points in one game and {b} points in another. What was {A.his} average score per game?"),
    ("average/three/t7", "train-only", "What is the mean number of {items} in three {containers} that hold {a}, {b} and {c} {items}?"),
    ("average/three/t8", "train-only", "{A} walked {a} steps on Monday, {b} on Tuesday and {c} on Wednesday. How many steps did {A.he} walk per day on average?"),
    ("average/four/t7", "train-only", "What is the average of the four numbers {a}, {b}, {c} and {d}?"),
    ("average/four/t8", "train-only", "A team scored {a}, {b}, {c} and {d} points in four games. What was the team's average score per game?"),

    ("fraction/half/t5", "train-only", "What is half of {x} {items}?"),
    ("fraction/half/t6", "train-only", "{A} had {x} {items} and used half of them for a project. How many {items} did {A.he} use?"),
    ("fraction/third/t5", "train-only", "What is one third of {x} {items}?"),
    ("fraction/third/t6", "train-only", "{A} has {x} {items}, and a third of them are in the blue {container}. How many {items} are in the blue {container}?"),
    ("fraction/third_left/t7", "train-only", "How many {items} remain if a third of {x} {items} are given away?"),
    ("fraction/third_left/t8", "train-only", "A shop had {x} {items}. One third were sold on Monday. How many {items} were not sold on Monday?"),
    ("fraction/half_left_buy/t8", "train-only", "How many {items} are in a {container} that had {x}, lost half of them, and then got {y} more?"),
    ("fraction/half_left_buy/t9", "train-only", "{A} started with {x} {items}, gave away half, and then received {y} as a gift. How many {items} does {A.he} have?"),

    ("chain/give_buy/t8", "train-only", "A bus had {a} passengers. At the first stop {b} got off and {c} got on. How many passengers are on the bus now?"),
    ("chain/give_buy/t9", "train-only", "{A} had {a} {items}, lost {b} of them, and later found {c} others. What is the number of {items} {A.he} has now?"),
    ("chain/buy_give/t8", "train-only", "How many {items} does a store have after it starts with {a}, receives {p} {containers} of {k} {items}, and sells {g}?"),
    ("chain/buy_give/t9", "train-only", "Starting with {a} {items}, {A} ordered {p} {containers} of them, {k} in each. Then {A.he} gave away {g}. How many {items} are left?"),
    ("chain/four/t7", "train-only", "How many {items} are left if a shop starts with {a}, adds {p} {containers} of {k}, sells {g} in the morning and {e} in the afternoon?"),
    ("chain/four/t8", "train-only", "{A} had {a} {items}. {A.He} got {p} {containers} of {k} {items} each, used {g} for a project, and lost {e}. How many {items} does {A.he} have now?"),

    ("savings/weeks/t7", "train-only", "How many weeks will {A} need to save {goal} if {A.he} puts aside {r} per week?"),
    ("savings/weeks/t8", "train-only", "A charity raises {r} a week. How long, in weeks, until it has raised {goal}?"),
    ("savings/weeks_have/t7", "train-only", "How many weeks must pass before {A} reaches {goal}, starting at {have} and saving {r} each week?"),
    ("savings/weeks_have/t8", "train-only", "A club has {have} and needs {goal} for new shirts. It saves {r} per week. How many weeks will it take to reach {goal}?"),
    ("savings/hours/t7", "train-only", "How many weeks of work does {A} need to go from {have} to {goal} if {A.he} works {h} hours a week for {w} per hour?"),
    ("savings/hours/t8", "train-only", "{A}'s savings stand at {have}. {A.His} job pays {w} for each hour, and {A.he} works {h} hours weekly. For how many weeks must {A.he} work to have {goal}?"),
    ("savings/spend/t7", "train-only", "How many weeks does it take {A} to reach {goal} from {have} if {A.he} earns {w} per hour for {h} hours a week and spends {e} each week?"),
    ("savings/spend/t8", "train-only", "Each week {A} puts in {h} hours at {w} an hour but spends {e} on lunch. {A.He} has {have} now. How many weeks will it take to have {goal}?"),
)
# fmt: on
