//! The retailer's world: regions, stores, salespeople and the product catalogue.
//!
//! Everything here is `'static` so that generated and decoded orders can point at these
//! strings instead of allocating: the generator picks from the tables, and the decoder
//! maps a message's text back onto them while it validates the order.

use std::sync::OnceLock;

/// A region with the cities (store ids) that belong to it.
#[derive(Debug)]
pub struct Region {
    /// Region name as it appears in the `region` field.
    pub name: &'static str,
    /// Stores in this region.
    pub stores: &'static [Store],
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
#[derive(Debug)]
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
}

/// Whole zloty in grosz, so the price table reads in zloty.
const fn zloty(amount: i64) -> i64 {
    amount * 100
}

/// Regions and their stores, per SPEC.
pub static REGIONS: &[Region] = &[
    Region {
        name: "Central",
        stores: &[Store {
            city: "Warszawa",
            salespeople: &["Anna Kowalska", "Piotr Nowak", "Katarzyna Wisniewska"],
        }],
    },
    Region {
        name: "Wschod",
        stores: &[
            Store {
                city: "Lublin",
                salespeople: &["Tomasz Wojcik", "Magdalena Kaminska", "Pawel Lewandowski"],
            },
            Store { city: "Terespol", salespeople: &["Agnieszka Zielinska", "Michal Szymanski"] },
            Store { city: "Bialystok", salespeople: &["Joanna Wozniak", "Krzysztof Dabrowski"] },
        ],
    },
    Region {
        name: "Poludnie",
        stores: &[
            Store { city: "Krakow", salespeople: &["Marcin Kozlowski", "Ewa Jankowska", "Lukasz Mazur"] },
            Store { city: "Katowice", salespeople: &["Monika Kwiatkowska", "Grzegorz Krawczyk"] },
            Store { city: "Rzeszow", salespeople: &["Aleksandra Piotrowska", "Jakub Grabowski"] },
            Store {
                city: "Czestochowa",
                salespeople: &["Barbara Pawlowska", "Adam Michalski", "Natalia Krol"],
            },
        ],
    },
    Region {
        name: "Zachod",
        stores: &[
            Store {
                city: "Wroclaw",
                salespeople: &["Marek Wieczorek", "Dorota Jablonska", "Bartosz Majewski"],
            },
            Store { city: "Poznan", salespeople: &["Karolina Olszewska", "Rafal Stepien"] },
        ],
    },
    Region {
        name: "Polnoc",
        stores: &[
            Store { city: "Gdansk", salespeople: &["Zofia Malinowska", "Dariusz Gorski", "Iwona Rutkowska"] },
            Store { city: "Gdynia", salespeople: &["Sebastian Witkowski", "Beata Walczak"] },
            Store { city: "Bydgoszcz", salespeople: &["Wojciech Sikora", "Renata Baran"] },
            Store { city: "Sopot", salespeople: &["Hubert Zalewski", "Marta Szczepanska"] },
            Store {
                city: "Szczecin",
                salespeople: &["Robert Pietrzak", "Elzbieta Wrobel", "Kamil Adamczyk"],
            },
        ],
    },
];

/// The built-in product catalogue, per SPEC; a scenario may replace it.
pub static CATEGORIES: &[Category] = &[
    Category {
        name: "Laptopy",
        products: &["Laptop gamingowy", "Ultrabook", "Laptop biznesowy", "Laptop 2w1"],
        brands: &["Apple", "Dell", "HP", "Lenovo", "Asus"],
        min_price_grosz: zloty(2000),
        max_price_grosz: zloty(8000),
        lowest_price_grosz: zloty(2000),
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
    },
    Category {
        name: "Audio",
        products: &["Sluchawki bezprzewodowe", "Glosnik Bluetooth", "Soundbar", "Kino domowe"],
        brands: &["Sony", "JBL", "Bose", "Anker"],
        min_price_grosz: zloty(100),
        max_price_grosz: zloty(3000),
        lowest_price_grosz: zloty(100),
    },
    Category {
        name: "Telewizory",
        products: &["Telewizor OLED", "Telewizor QLED", "Telewizor LED", "Telewizor 4K UHD"],
        brands: &["Samsung", "LG", "Sony"],
        min_price_grosz: zloty(1500),
        max_price_grosz: zloty(10000),
        lowest_price_grosz: zloty(1500),
    },
    Category {
        name: "Akcesoria",
        products: &["Ladowarka", "Powerbank", "Etui na telefon", "Kabel USB-C", "Hub USB"],
        brands: &["Anker", "Belkin", "Samsung", "Apple"],
        min_price_grosz: zloty(30),
        max_price_grosz: zloty(500),
        lowest_price_grosz: zloty(30),
    },
];

/// Sales channels (`sales_channel`).
pub static CHANNELS: &[&str] = &["online", "in_store"];
/// Devices of an online order (`device_type`).
pub static ONLINE_DEVICES: &[&str] = &["mobile", "pc"];
/// The only device of an in-store order.
pub const IN_STORE_DEVICE: &str = "store";
/// Payment methods (`payment_method`).
pub static PAYMENT_METHODS: &[&str] = &["cash", "credit_card", "blik", "voucher", "bank_transfer"];

/// Finds a region by name.
pub fn region(name: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.name == name)
}

/// The catalogue orders are checked against: the active scenario's (see [`install`]).
static ACTIVE: OnceLock<&'static [Category]> = OnceLock::new();

/// Makes `categories` (a scenario's catalogue) the one decoded orders are checked
/// against. Call once at start, before decoding; returns false if another catalogue was
/// installed already.
pub fn install(categories: &'static [Category]) -> bool {
    ACTIVE.set(categories).is_ok() || std::ptr::eq(*ACTIVE.get().unwrap_or(&categories), categories)
}

/// The active catalogue: the installed one, else the built-in scenario's.
pub fn categories() -> &'static [Category] {
    ACTIVE.get_or_init(|| super::load::LoadModel::builtin().categories())
}

/// Finds a category of the active catalogue by name.
pub fn category(name: &str) -> Option<&'static Category> {
    categories().iter().find(|c| c.name == name)
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
        let stores: Vec<&Store> = REGIONS.iter().flat_map(|r| r.stores).collect();
        assert_eq!(stores.len(), 15);
        for s in stores {
            let want = if s.city == "Warszawa" || s.city == "Lublin" { 3..=3 } else { 2..=3 };
            assert!(want.contains(&s.salespeople.len()), "{}", s.city);
        }
    }

    #[test]
    fn twenty_one_products_in_five_categories() {
        assert_eq!(CATEGORIES.len(), 5);
        assert_eq!(CATEGORIES.iter().map(|c| c.products.len()).sum::<usize>(), 21);
    }
}
