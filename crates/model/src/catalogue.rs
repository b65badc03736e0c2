//! The retailer's world: regions, stores, salespeople, channels, devices, payment
//! methods and the product catalogue.
//!
//! The fixed dimensions are enums, so code matches on them instead of comparing strings,
//! and an enum's index is its position in `ALL`. The categories are data (a scenario may
//! replace them), held in a [`Catalogue`] value that a command builds once and passes to
//! whatever decodes or aggregates orders. All text is `'static`, so generated and decoded
//! orders point at it instead of allocating.

/// Declares a closed set of values that travel as fixed strings: the enum, `ALL` in index
/// order, the text of each and the parse back.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in index order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The text this value has in orders, files and the sheet.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value named `text`, if there is one.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Position in [`Self::ALL`], for per-value tables.
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// The five sales regions of the order record (README, "The order record").
    Region {
        /// Warsaw.
        Central = "Central",
        /// The east.
        Wschod = "Wschod",
        /// The south.
        Poludnie = "Poludnie",
        /// The west.
        Zachod = "Zachod",
        /// The north.
        Polnoc = "Polnoc",
    }
}

text_enum! {
    /// Where a sale happened (`sales_channel`).
    Channel {
        /// Bought on the web shop.
        Online = "online",
        /// Bought in a store, served by a salesperson.
        InStore = "in_store",
    }
}

text_enum! {
    /// The buyer's device (`device_type`): the online ones, then the store.
    Device {
        /// A phone or tablet.
        Mobile = "mobile",
        /// A computer.
        Pc = "pc",
        /// The store's till; the only device of an in-store sale.
        Store = "store",
    }
}

text_enum! {
    /// How the buyer paid (`payment_method`).
    Payment {
        /// Cash.
        Cash = "cash",
        /// A credit card.
        CreditCard = "credit_card",
        /// BLIK, the Polish mobile payment.
        Blik = "blik",
        /// A gift voucher.
        Voucher = "voucher",
        /// A bank transfer.
        BankTransfer = "bank_transfer",
    }
}

impl Channel {
    /// The devices a sale of this channel can be made from.
    pub const fn devices(self) -> &'static [Device] {
        match self {
            Channel::Online => &[Device::Mobile, Device::Pc],
            Channel::InStore => &[Device::Store],
        }
    }
}

impl Region {
    /// The stores of this region.
    pub const fn stores(self) -> &'static [Store] {
        match self {
            Region::Central => CENTRAL,
            Region::Wschod => WSCHOD,
            Region::Poludnie => POLUDNIE,
            Region::Zachod => ZACHOD,
            Region::Polnoc => POLNOC,
        }
    }
}

/// A store, named by its city, with the salespeople who work there.
#[derive(Debug)]
pub struct Store {
    /// City name, used as `store_id` and as the Kafka message key.
    pub city: &'static str,
    /// Salespeople who can serve an in-store order here.
    pub salespeople: &'static [&'static str],
}

/// A product category with its products, brands and net unit price range.
#[derive(PartialEq, Eq)]
pub struct Category {
    /// Category name as it appears in `kategoria_produktu`.
    pub name: &'static str,
    /// Product names (`nazwa_produktu`) sold in this category.
    pub products: &'static [&'static str],
    /// Brands (`marka`) that make products of this category.
    pub brands: &'static [&'static str],
    /// Lowest net unit price in grosz (1/100 PLN).
    pub min_price_grosz: i64,
    /// Highest net unit price in grosz.
    pub max_price_grosz: i64,
    /// Lowest net unit price an order may carry: the list minimum less the deepest
    /// promotion discount of the scenario.
    pub lowest_price_grosz: i64,
    /// Position in its catalogue, so an order's category is an index without a search.
    pub index: usize,
}

/// Only the name: an order's debug output shows its category, not the whole catalogue
/// entry.
impl std::fmt::Debug for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Category({:?})", self.name)
    }
}

/// Whole zloty in grosz, so the price table reads in zloty.
const fn zloty(amount: i64) -> i64 {
    amount * 100
}

static CENTRAL: &[Store] =
    &[Store { city: "Warszawa", salespeople: &["Anna Kowalska", "Piotr Nowak", "Katarzyna Wisniewska"] }];

static WSCHOD: &[Store] = &[
    Store { city: "Lublin", salespeople: &["Tomasz Wojcik", "Magdalena Kaminska", "Pawel Lewandowski"] },
    Store { city: "Terespol", salespeople: &["Agnieszka Zielinska", "Michal Szymanski"] },
    Store { city: "Bialystok", salespeople: &["Joanna Wozniak", "Krzysztof Dabrowski"] },
];

static POLUDNIE: &[Store] = &[
    Store { city: "Krakow", salespeople: &["Marcin Kozlowski", "Ewa Jankowska", "Lukasz Mazur"] },
    Store { city: "Katowice", salespeople: &["Monika Kwiatkowska", "Grzegorz Krawczyk"] },
    Store { city: "Rzeszow", salespeople: &["Aleksandra Piotrowska", "Jakub Grabowski"] },
    Store { city: "Czestochowa", salespeople: &["Barbara Pawlowska", "Adam Michalski", "Natalia Krol"] },
];

static ZACHOD: &[Store] = &[
    Store { city: "Wroclaw", salespeople: &["Marek Wieczorek", "Dorota Jablonska", "Bartosz Majewski"] },
    Store { city: "Poznan", salespeople: &["Karolina Olszewska", "Rafal Stepien"] },
];

static POLNOC: &[Store] = &[
    Store { city: "Gdansk", salespeople: &["Zofia Malinowska", "Dariusz Gorski", "Iwona Rutkowska"] },
    Store { city: "Gdynia", salespeople: &["Sebastian Witkowski", "Beata Walczak"] },
    Store { city: "Bydgoszcz", salespeople: &["Wojciech Sikora", "Renata Baran"] },
    Store { city: "Sopot", salespeople: &["Hubert Zalewski", "Marta Szczepanska"] },
    Store { city: "Szczecin", salespeople: &["Robert Pietrzak", "Elzbieta Wrobel", "Kamil Adamczyk"] },
];

/// The built-in product catalogue (README, "The order record"); a scenario may replace it.
pub static BUILTIN_CATEGORIES: &[Category] = &[
    Category {
        name: "Laptopy",
        products: &["Laptop gamingowy", "Ultrabook", "Laptop biznesowy", "Laptop 2w1"],
        brands: &["Apple", "Dell", "HP", "Lenovo", "Asus"],
        min_price_grosz: zloty(2000),
        max_price_grosz: zloty(8000),
        lowest_price_grosz: zloty(2000),
        index: 0,
    },
    Category {
        name: "Smartfony",
        products: &[
            "Smartfon premium",
            "Smartfon budzetowy",
            "Smartfon ze sredniej polki",
            "Smartfon dla graczy",
        ],
        brands: &["Apple", "Samsung", "Xiaomi", "Sony"],
        min_price_grosz: zloty(1000),
        max_price_grosz: zloty(6000),
        lowest_price_grosz: zloty(1000),
        index: 1,
    },
    Category {
        name: "Audio",
        products: &["Sluchawki bezprzewodowe", "Glosnik Bluetooth", "Soundbar", "Kino domowe"],
        brands: &["Sony", "JBL", "Bose", "Anker"],
        min_price_grosz: zloty(100),
        max_price_grosz: zloty(3000),
        lowest_price_grosz: zloty(100),
        index: 2,
    },
    Category {
        name: "Telewizory",
        products: &["Telewizor OLED", "Telewizor QLED", "Telewizor LED", "Telewizor 4K UHD"],
        brands: &["Samsung", "LG", "Sony"],
        min_price_grosz: zloty(1500),
        max_price_grosz: zloty(10000),
        lowest_price_grosz: zloty(1500),
        index: 3,
    },
    Category {
        name: "Akcesoria",
        products: &["Ladowarka", "Powerbank", "Etui na telefon", "Kabel USB-C", "Hub USB"],
        brands: &["Anker", "Belkin", "Samsung", "Apple"],
        min_price_grosz: zloty(30),
        max_price_grosz: zloty(500),
        lowest_price_grosz: zloty(30),
        index: 4,
    },
];

/// The product categories orders are checked against and aggregated by: the built-in
/// ones or a scenario's. Cheap to copy; a command makes one and hands it down.
#[derive(Clone, Copy, Debug)]
pub struct Catalogue {
    categories: &'static [Category],
}

impl Catalogue {
    /// The order record's categories at list prices. Orders of the built-in scenario may be cheaper
    /// (its promotions): check those against the compiled scenario's catalogue.
    pub const fn list_prices() -> Catalogue {
        Catalogue { categories: BUILTIN_CATEGORIES }
    }

    /// A catalogue of `categories`, whose `index` fields must be their positions (a
    /// compiled scenario's are).
    pub fn new(categories: &'static [Category]) -> Catalogue {
        debug_assert!(categories.iter().enumerate().all(|(i, c)| c.index == i));
        Catalogue { categories }
    }

    /// The categories, in index order.
    pub const fn categories(&self) -> &'static [Category] {
        self.categories
    }

    /// The category named `name`.
    pub fn category(&self, name: &str) -> Option<&'static Category> {
        self.categories.iter().find(|c| c.name == name)
    }
}

/// Finds the `'static` copy of `value` in `list`, so decoded text needs no allocation.
pub fn intern(list: &'static [&'static str], value: &str) -> Option<&'static str> {
    list.iter().copied().find(|v| *v == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_cities_with_two_or_three_salespeople() {
        let stores: Vec<&Store> = Region::ALL.iter().flat_map(|r| r.stores()).collect();
        assert_eq!(stores.len(), 15);
        for s in stores {
            let want = if s.city == "Warszawa" || s.city == "Lublin" { 3..=3 } else { 2..=3 };
            assert!(want.contains(&s.salespeople.len()), "{}", s.city);
        }
    }

    #[test]
    fn twenty_one_products_in_five_categories() {
        assert_eq!(BUILTIN_CATEGORIES.len(), 5);
        assert_eq!(BUILTIN_CATEGORIES.iter().map(|c| c.products.len()).sum::<usize>(), 21);
        assert!(BUILTIN_CATEGORIES.iter().enumerate().all(|(i, c)| c.index == i));
    }

    #[test]
    fn every_text_parses_back_to_its_value() {
        for r in Region::ALL {
            assert_eq!(Region::parse(r.as_str()), Some(*r));
        }
        for d in Device::ALL {
            assert_eq!(Device::parse(d.as_str()), Some(*d));
        }
        for p in Payment::ALL {
            assert_eq!(Payment::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Channel::parse("in_store"), Some(Channel::InStore));
        assert_eq!(Channel::parse("offline"), None);
    }
}
