//! Hostile and odd scenario files: each fails naming the key and the value, or runs as
//! the file says; none makes the generator draw what the file does not hold.

use crate::load::{discounted, LoadModel};
use crate::scenario::Scenario;
use crate::{Generator, GeneratorConfig};

fn compile(text: &str) -> Result<LoadModel, String> {
    let scenario = Scenario::parse(text, "test.toml").map_err(|e| e.to_string())?;
    LoadModel::compile(&scenario, "test.toml").map_err(|e| e.to_string())
}

fn refused(text: &str, wants: &[&str]) {
    let err = compile(text).err().unwrap_or_else(|| panic!("accepted:\n{text}"));
    for want in wants {
        assert!(err.contains(want), "{err:?} lacks {want:?}");
    }
}

const ONE_ITEM: &str = r#"
seasons = []
promotions = []
[[categories]]
name = "Kable"
items = [{ name = "Kabel", brand = "Hama", shelf_price = 39 }]
"#;

#[test]
fn the_prototype_form_sells_only_what_the_file_lists_even_under_a_prototype_name() {
    let model = compile(
        r#"
seasons = []
promotions = []
[[categories]]
name = "Akcesoria"
products = ["Pad"]
brands = ["Sony"]
price = [80.0, 900.0]
"#,
    )
    .unwrap();
    let mut g = Generator::new(&GeneratorConfig {
        seed: Some(1),
        instance: Some(1),
        model: std::sync::Arc::new(model),
        ..Default::default()
    });
    for i in 0..5_000 {
        let o = g.order_at(1_772_409_600_000_000 + i * 1_000_000);
        assert_eq!((o.nazwa_produktu, o.marka), ("Pad", "Sony"));
        assert!((8_000..=90_000).contains(&o.cena_netto), "{}", o.cena_netto);
    }
}

#[test]
fn numbers_whose_sums_would_overflow_are_refused() {
    let huge_popularity = ONE_ITEM.replace("shelf_price = 39 }", "shelf_price = 39, popularity = 1e308 }");
    refused(&huge_popularity, &["items[0].popularity", "1e9"]);
    refused(&format!("{ONE_ITEM}quantity = [1e308, 1e308, 0, 0]\n"), &["quantity", "1e9"]);
    refused(&format!("base_rate_per_minute = 1e308\n{ONE_ITEM}"), &["base_rate_per_minute", "1e9"]);
    refused(
        &format!(
            "{ONE_ITEM}[payments]\nonline = {{ blik = 1e308, cash = 1e308 }}\nin_store = {{ cash = 1 }}\n"
        ),
        &["payments.online.", "1e9"],
    );
}

#[test]
fn look_alike_and_hidden_characters_in_names_are_refused() {
    for name in [
        "Kabel ",
        " Kabel",
        "Ka\u{200B}bel",
        "Kabel\u{2028}",
        "Kabel\u{202E}gnp.exe",
        "\u{A0}=1+1",
        "\u{FEFF}=1",
        "Kabel;USB",
        "Ka  bel",
    ] {
        let text = ONE_ITEM.replace("name = \"Kabel\"", &format!("name = {}", toml_string(name)));
        refused(&text, &["items[0].name"]);
    }
    let twins = ONE_ITEM.replace(
        "shelf_price = 39 }]",
        "shelf_price = 39 }, { name = \"kabel\", brand = \"Hama\", shelf_price = 49 }]",
    );
    refused(&twins, &["items[1].name", "duplicate"]);
    refused(
        "seasons = []\npromotions = []\n[[categories]]\nname = \"K\"\nproducts = [\"P\", \"P\"]\nbrands = [\"B\"]\nprice = [1.0, 2.0]\n",
        &["products", "twice"],
    );
    // Polish letters and ordinary punctuation are what names are made of.
    compile(&ONE_ITEM.replace("name = \"Kabel\"", "name = \"Ładowarka USB-C 65 W (GaN) 2 m – biała\""))
        .unwrap();
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_control() || !c.is_ascii() {
            out.push_str(&format!("\\u{:04X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

#[test]
fn a_category_missing_from_a_replaced_catalogue_is_named_with_where_it_comes_from() {
    let text = ONE_ITEM.replace("seasons = []\n", "");
    refused(&text, &["seasons[", "unknown category", "seasons = []"]);
}

#[test]
fn bands_name_the_value_given() {
    let text = format!(
        "{ONE_ITEM}[payments]\nonline = {{ blik = 1 }}\nin_store = {{ cash = 1 }}\ninstalments_by_value = [{{ below = 0.001, factor = 1 }}, {{ factor = 2 }}]\n"
    );
    refused(&text, &["instalments_by_value[0].below = 0.001", "at least 0.01"]);
}

#[test]
fn an_hour_without_demand_at_a_fixed_rate_keeps_the_scenarios_mix() {
    // Online closed at night, stores closed at night: a fixed-rate run at 3 a.m. still
    // draws regions and categories by their weights, not evenly.
    let text = format!(
        "{}\n[channels.online]\nshare = 0.5\nweekdays = [1, 1, 1, 1, 1, 1, 1]\nhours = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n",
        crate::scenario::DEFAULT_SCENARIO.replace("[channels.online]", "[channels.online_builtin_unused]").split("[channels.online_builtin_unused]").next().unwrap()
    );
    let model = compile(&text).unwrap();
    let hour = (1_772_409_600_000_000 + 2 * 3_600_000_000) / 3_600_000_000; // 03:00 in Poland
    let plan = model.plan(hour);
    assert_eq!(plan.rate_per_sec, 0.0);
    let tv = model.categories().iter().position(|c| c.name == "Telewizory").unwrap();
    let accessories = model.categories().iter().position(|c| c.name == "Akcesoria").unwrap();
    let (mut tvs, mut acc) = (0, 0);
    for i in 0..10_000 {
        let cell = plan.pick((i as f64 + 0.5) / 10_000.0);
        tvs += usize::from(usize::from(cell.category) == tv);
        acc += usize::from(usize::from(cell.category) == accessories);
    }
    assert!(acc > 5 * tvs, "accessories {acc} against TVs {tvs}");
}

#[test]
fn a_promotion_never_gives_a_product_away_and_shelf_prices_come_back_whole() {
    assert_eq!(discounted(5, 0.9), 1);
    let model = compile(ONE_ITEM).unwrap();
    let item = &model.categories()[0].items[0];
    assert_eq!(crate::order::gross_value(item.price_grosz, 1), 3_900);
    // The decoder accepts the deepest discount any scenario may give.
    assert_eq!(model.categories()[0].lowest_price_grosz, discounted(item.price_grosz, 0.9));
    // Net prices step by 1.23 grosz of gross, so about one gross price in five has no net
    // price of its own: those come back a grosz off, the rest exactly.
    let builtin = LoadModel::builtin();
    let off: Vec<i64> = builtin
        .categories()
        .iter()
        .flat_map(|c| c.items)
        .map(|i| {
            let gross = crate::order::gross_value(i.price_grosz, 1);
            (gross + 50).rem_euclid(100) - 50
        })
        .collect();
    assert!(off.iter().all(|d| d.abs() <= 1), "{off:?}");
    assert!(off.iter().filter(|d| **d == 0).count() * 4 > off.len() * 3, "{off:?}");
}
