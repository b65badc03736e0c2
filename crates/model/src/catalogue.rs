//! The retailer's world: regions, stores, salespeople, channels, devices, payment
//! methods and the product catalogue.
//!
//! The stores are listed in `catalogue/chain.rs`; the products come from the scenario.
//!
//! The fixed dimensions are enums, so code matches on them instead of comparing strings,
//! and an enum's index is its position in `ALL`. The categories are data (a scenario may
//! replace them), held in a [`Catalogue`] value that a command builds once and passes to
//! whatever decodes or aggregates orders. All text is `'static`, so generated and decoded
//! orders point at it instead of allocating.

mod chain;

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
    /// The five sales regions of the order record (docs/design.md, "The order record").
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
        /// A bank transfer; online mostly pay-by-link.
        BankTransfer = "bank_transfer",
        /// Instalments (raty), granted at the till or online by a partner bank.
        Instalments = "instalments",
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
    /// The stores of this region, the closed ones of the prototype included.
    pub const fn stores(self) -> &'static [Store] {
        match self {
            Region::Central => chain::CENTRAL,
            Region::Wschod => chain::WSCHOD,
            Region::Poludnie => chain::POLUDNIE,
            Region::Zachod => chain::ZACHOD,
            Region::Polnoc => chain::POLNOC,
        }
    }

    /// The region's name in Polish, for people; the code stays what the record carries.
    pub const fn polish_name(self) -> &'static str {
        match self {
            Region::Central => "Centrum",
            Region::Wschod => "Wschód",
            Region::Poludnie => "Południe",
            Region::Zachod => "Zachód",
            Region::Polnoc => "Północ",
        }
    }
}

/// A store of the chain, with the salespeople who work there.
#[derive(Debug)]
pub struct Store {
    /// `store_id`, also the Kafka message key: the city, or city and district where a
    /// city has several stores.
    pub id: &'static str,
    /// The city, with its Polish letters.
    pub city: &'static str,
    /// The voivodeship (province) of the city.
    pub voivodeship: &'static str,
    /// Relative share of its region's orders; 0 for a closed store, whose past orders
    /// still decode.
    pub weight: f64,
    /// Salespeople who can serve an in-store order here.
    pub salespeople: &'static [&'static str],
}

/// A product the generator sells: one SKU at one list price.
#[derive(Debug, PartialEq, Eq)]
pub struct Product {
    /// `nazwa_produktu`.
    pub name: &'static str,
    /// `marka`.
    pub brand: &'static str,
    /// Net list price per unit in grosz, before any promotion.
    pub price_grosz: i64,
}

/// A product category: what is sold in it, and what an order of it may carry.
#[derive(PartialEq, Eq)]
pub struct Category {
    /// Category name as it appears in `kategoria_produktu`.
    pub name: &'static str,
    /// Every product name (`nazwa_produktu`) an order of this category may carry: the
    /// products sold, and those of the prototype's catalogue, so old orders still decode.
    pub products: &'static [&'static str],
    /// Every brand (`marka`) an order of this category may carry, likewise.
    pub brands: &'static [&'static str],
    /// The products sold, each at its own price. Empty for a category given only as
    /// names, brands and a price range, whose orders draw each of them uniformly.
    pub items: &'static [Product],
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

/// The prototype's catalogue: its names, brands and price ranges are still accepted in the
/// categories of the same name, so that orders written before the catalogue of products
/// still decode.
pub static PROTOTYPE_CATEGORIES: &[Category] = &[
    Category {
        name: "Laptopy",
        products: &["Laptop gamingowy", "Ultrabook", "Laptop biznesowy", "Laptop 2w1"],
        brands: &["Apple", "Dell", "HP", "Lenovo", "Asus"],
        min_price_grosz: zloty(2000),
        max_price_grosz: zloty(8000),
        items: &[],
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
        items: &[],
        lowest_price_grosz: zloty(1000),
        index: 1,
    },
    Category {
        name: "Audio",
        products: &["Sluchawki bezprzewodowe", "Glosnik Bluetooth", "Soundbar", "Kino domowe"],
        brands: &["Sony", "JBL", "Bose", "Anker"],
        min_price_grosz: zloty(100),
        max_price_grosz: zloty(3000),
        items: &[],
        lowest_price_grosz: zloty(100),
        index: 2,
    },
    Category {
        name: "Telewizory",
        products: &["Telewizor OLED", "Telewizor QLED", "Telewizor LED", "Telewizor 4K UHD"],
        brands: &["Samsung", "LG", "Sony"],
        min_price_grosz: zloty(1500),
        max_price_grosz: zloty(10000),
        items: &[],
        lowest_price_grosz: zloty(1500),
        index: 3,
    },
    Category {
        name: "Akcesoria",
        products: &["Ladowarka", "Powerbank", "Etui na telefon", "Kabel USB-C", "Hub USB"],
        brands: &["Anker", "Belkin", "Samsung", "Apple"],
        min_price_grosz: zloty(30),
        max_price_grosz: zloty(500),
        items: &[],
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
    /// The prototype's categories at their list price ranges: what orders written before
    /// the catalogue of products carry.
    pub const fn prototype() -> Catalogue {
        Catalogue { categories: PROTOTYPE_CATEGORIES }
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
    use std::collections::HashSet;

    #[test]
    fn a_chain_of_seventy_stores_in_every_voivodeship_with_two_or_three_salespeople() {
        let stores: Vec<&Store> = Region::ALL.iter().flat_map(|r| r.stores()).collect();
        let open: Vec<&&Store> = stores.iter().filter(|s| s.weight > 0.0).collect();
        assert_eq!(open.len(), 70);
        assert!(open.iter().map(|s| s.city).collect::<HashSet<_>>().len() >= 40);
        assert_eq!(open.iter().map(|s| s.voivodeship).collect::<HashSet<_>>().len(), 16);
        let ids: HashSet<&str> = stores.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), stores.len(), "store ids are unique across regions");
        for s in &stores {
            assert!((2..=3).contains(&s.salespeople.len()), "{}", s.id);
        }
        // The prototype's fifteen stores still exist, with their staff, in their regions.
        for (id, region, seller) in [
            ("Krakow", Region::Poludnie, "Ewa Jankowska"),
            ("Warszawa", Region::Central, "Piotr Nowak"),
            ("Sopot", Region::Polnoc, "Marta Szczepanska"),
            ("Terespol", Region::Wschod, "Michal Szymanski"),
        ] {
            let store = region.stores().iter().find(|s| s.id == id).unwrap();
            assert!(store.salespeople.contains(&seller), "{id}");
        }
    }

    #[test]
    fn the_prototype_had_twenty_one_products_in_five_categories() {
        assert_eq!(PROTOTYPE_CATEGORIES.len(), 5);
        assert_eq!(PROTOTYPE_CATEGORIES.iter().map(|c| c.products.len()).sum::<usize>(), 21);
        assert!(PROTOTYPE_CATEGORIES.iter().enumerate().all(|(i, c)| c.index == i));
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
