//! The words of the page and the charts, in Polish (the default: the retailer's analysts
//! read Polish) or English (`?lang=en`). Codes on the wire (`in_store`, `credit_card`,
//! `Polnoc`) stay as they are in the API and the files; people see labels.

use crate::order::{Channel, Device, Payment, Region};

/// The language of a page or chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Lang {
    /// Polish.
    #[default]
    Pl,
    /// English.
    En,
}

impl Lang {
    /// `pl` or `en`, as the `lang` parameter and the page's `lang` attribute name them.
    pub(crate) fn parse(text: &str) -> Option<Lang> {
        match text {
            "pl" => Some(Lang::Pl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code, for `<html lang>`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Pl => "pl",
            Lang::En => "en",
        }
    }

    /// The words in this language.
    pub(crate) fn words(self) -> &'static Words {
        match self {
            Lang::Pl => &PL,
            Lang::En => &EN,
        }
    }

    /// A region's name for people.
    pub(crate) fn region(self, region: Region) -> &'static str {
        match self {
            Lang::Pl => region.polish_name(),
            Lang::En => match region {
                Region::Central => "Central",
                Region::Wschod => "East",
                Region::Poludnie => "South",
                Region::Zachod => "West",
                Region::Polnoc => "North",
            },
        }
    }

    /// A sales channel's name for people.
    pub(crate) fn channel(self, channel: Channel) -> &'static str {
        match (self, channel) {
            (Lang::Pl, Channel::Online) => "Sklep internetowy",
            (Lang::Pl, Channel::InStore) => "Sklep stacjonarny",
            (Lang::En, Channel::Online) => "Online shop",
            (Lang::En, Channel::InStore) => "In store",
        }
    }

    /// A device's name for people.
    pub(crate) fn device(self, device: Device) -> &'static str {
        match (self, device) {
            (Lang::Pl, Device::Mobile) => "Telefon lub tablet",
            (Lang::Pl, Device::Pc) => "Komputer",
            (Lang::Pl, Device::Store) => "Kasa w sklepie",
            (Lang::En, Device::Mobile) => "Phone or tablet",
            (Lang::En, Device::Pc) => "Computer",
            (Lang::En, Device::Store) => "Store till",
        }
    }

    /// A payment method's name for people.
    pub(crate) fn payment(self, payment: Payment) -> &'static str {
        match (self, payment) {
            (_, Payment::Blik) => "BLIK",
            (Lang::Pl, Payment::Cash) => "Gotówka",
            (Lang::Pl, Payment::CreditCard) => "Karta",
            (Lang::Pl, Payment::Voucher) => "Bon podarunkowy",
            (Lang::Pl, Payment::BankTransfer) => "Przelew",
            (Lang::Pl, Payment::Instalments) => "Raty",
            (Lang::En, Payment::Cash) => "Cash",
            (Lang::En, Payment::CreditCard) => "Card",
            (Lang::En, Payment::Voucher) => "Voucher",
            (Lang::En, Payment::BankTransfer) => "Bank transfer",
            (Lang::En, Payment::Instalments) => "Instalments",
        }
    }

    /// The label of any code the charts show (region, channel, device, payment); other
    /// text (category names) as it is.
    pub(crate) fn label(self, code: &'static str) -> &'static str {
        self.known(code).unwrap_or(code)
    }

    /// The label of a code, if it is one.
    fn known(self, code: &str) -> Option<&'static str> {
        Region::parse(code)
            .map(|r| self.region(r))
            .or_else(|| Channel::parse(code).map(|c| self.channel(c)))
            .or_else(|| Device::parse(code).map(|d| self.device(d)))
            .or_else(|| Payment::parse(code).map(|p| self.payment(p)))
    }

    /// The label of a code read from a file (any text: an unknown one is shown as it
    /// is).
    pub(crate) fn label_of(self, code: &str) -> String {
        self.known(code).map_or_else(|| code.to_string(), str::to_string)
    }

    /// `n` with the noun that counts it: `1 zamówienie`, `3 zamówienia`, `5 zamówień`;
    /// `forms` are the Polish singular, the form for 2-4 and the form for the rest (in
    /// English the singular and the plural, the plural given twice).
    pub(crate) fn counted(self, n: u64, forms: [&str; 3], grouped: &str) -> String {
        let form = match self {
            Lang::En => forms[if n == 1 { 0 } else { 2 }],
            Lang::Pl => {
                let (last, tens) = (n % 10, n % 100);
                if n == 1 {
                    forms[0]
                } else if (2..=4).contains(&last) && !(12..=14).contains(&tens) {
                    forms[1]
                } else {
                    forms[2]
                }
            }
        };
        format!("{grouped} {form}")
    }

    /// `n` orders, the number as given (grouped).
    pub(crate) fn orders(self, n: u64, grouped: &str) -> String {
        self.counted(n, self.words().order_forms, grouped)
    }
}

/// Every fixed text of the page and the charts.
#[derive(Debug)]
pub(crate) struct Words {
    pub(crate) title: &'static str,
    pub(crate) subtitle: &'static str,
    pub(crate) zone: &'static str,
    pub(crate) server_rendered: &'static str,
    pub(crate) live: &'static str,
    pub(crate) reconnecting: &'static str,
    pub(crate) refresh_failed: &'static str,
    pub(crate) static_view: &'static str,
    pub(crate) order_forms: [&'static str; 3],
    pub(crate) kpi_orders: &'static str,
    pub(crate) kpi_gross: &'static str,
    pub(crate) kpi_net: &'static str,
    pub(crate) kpi_units: &'static str,
    pub(crate) kpi_aov: &'static str,
    pub(crate) kpi_repeat: &'static str,
    pub(crate) no_previous: &'static str,
    pub(crate) vs_previous: &'static str,
    pub(crate) vs_year_ago: &'static str,
    pub(crate) top_products: &'static str,
    pub(crate) col_product: &'static str,
    pub(crate) col_store: &'static str,
    pub(crate) top_stores: &'static str,
    pub(crate) ticker: &'static str,
    pub(crate) ticker_note: &'static str,
    pub(crate) health: &'static str,
    pub(crate) h_written: &'static str,
    pub(crate) h_written_sink: &'static str,
    pub(crate) h_rate: &'static str,
    pub(crate) h_consumed: &'static str,
    pub(crate) h_dead: &'static str,
    pub(crate) h_late: &'static str,
    pub(crate) h_lag: &'static str,
    pub(crate) h_ready: &'static str,
    pub(crate) h_screen: &'static str,
    pub(crate) h_newest: &'static str,
    pub(crate) h_durable: &'static str,
    pub(crate) yes: &'static str,
    pub(crate) no: &'static str,
    pub(crate) per_second: &'static str,
    pub(crate) range: &'static str,
    pub(crate) custom_range: &'static str,
    pub(crate) from: &'static str,
    pub(crate) to: &'static str,
    pub(crate) grain: &'static str,
    pub(crate) grain_auto: &'static str,
    pub(crate) region: &'static str,
    pub(crate) category: &'static str,
    pub(crate) all_regions: &'static str,
    pub(crate) all_categories: &'static str,
    pub(crate) apply: &'static str,
    pub(crate) clear: &'static str,
    pub(crate) data_up_to: &'static str,
    pub(crate) no_data: &'static str,
    pub(crate) jump_latest: &'static str,
    pub(crate) export: &'static str,
    pub(crate) export_orders: &'static str,
    pub(crate) export_xlsx: &'static str,
    pub(crate) export_list: &'static str,
    pub(crate) other_language: &'static str,
    pub(crate) charts: [&'static str; 8],
    pub(crate) map_note: &'static str,
    pub(crate) no_orders_chart: &'static str,
    pub(crate) all: &'static str,
    pub(crate) gross: &'static str,
    pub(crate) net: &'static str,
    pub(crate) units: &'static str,
    pub(crate) share_in: &'static str,
    pub(crate) column_per: &'static str,
    pub(crate) polish_time: &'static str,
    pub(crate) unfinished: &'static str,
    pub(crate) steps: Steps,
}

/// The names of time steps, for "one column per ..." and the granularity switch.
#[derive(Debug)]
pub(crate) struct Steps {
    pub(crate) minutes: &'static str,
    pub(crate) hour: &'static str,
    pub(crate) hours: &'static str,
    pub(crate) day: &'static str,
    pub(crate) days: &'static str,
    pub(crate) week: &'static str,
    pub(crate) month: &'static str,
    pub(crate) months: &'static str,
    /// hour, day, week, month as the switch lists them.
    pub(crate) grains: [&'static str; 4],
}

const PL: Words = Words {
    title: "orderstream",
    subtitle: "sprzedaż na żywo",
    zone: "czas polski (Europe/Warsaw)",
    server_rendered: "widok z serwera",
    live: "na żywo",
    reconnecting: "ponowne łączenie",
    refresh_failed: "odświeżenie nie powiodło się",
    static_view: "widok statyczny",
    order_forms: ["zamówienie", "zamówienia", "zamówień"],
    kpi_orders: "zamówienia",
    kpi_gross: "wartość brutto",
    kpi_net: "wartość netto",
    kpi_units: "sztuki",
    kpi_aov: "średnie zamówienie",
    kpi_repeat: "zamówienia powracających klientów",
    no_previous: "brak zamówień w poprzednim okresie",
    vs_previous: "wobec poprzedniego okresu",
    vs_year_ago: "rok do roku",
    top_products: "Najlepsze produkty",
    col_product: "produkt",
    col_store: "sklep",
    top_stores: "Najlepsze sklepy",
    ticker: "Najnowsze zamówienia",
    ticker_note: "(dziesięć ostatnich w wybranych regionach i kategoriach, na żywo)",
    health: "Stan potoku",
    h_written: "zamówienia zapisane (CSV)",
    h_written_sink: "zamówienia zapisane",
    h_rate: "tempo zapisu (średnia z 10 s)",
    h_consumed: "wiadomości odczytane",
    h_dead: "odrzucone wiadomości",
    h_late: "spóźnione zamówienia",
    h_lag: "opóźnienie konsumenta (wiadomości)",
    h_ready: "gotowy",
    h_screen: "od zamówienia do ekranu",
    h_newest: "najnowsze zamówienie",
    h_durable: "ostatni trwały zapis",
    yes: "tak",
    no: "nie",
    per_second: "zam./s",
    range: "Okres",
    custom_range: "własny zakres (od–do)",
    from: "od",
    to: "do",
    grain: "Kolumny",
    grain_auto: "dopasowane do okresu",
    region: "Region",
    category: "Kategoria",
    all_regions: "wszystkie regiony",
    all_categories: "wszystkie kategorie",
    apply: "Zastosuj",
    clear: "Wyczyść filtry",
    data_up_to: "dane do",
    no_data: "brak danych",
    jump_latest: "przejdź do najnowszych danych",
    export: "Eksport",
    export_orders: "zamówienia (CSV)",
    export_xlsx: "widok (XLSX)",
    export_list: "lista zamówień",
    other_language: "English",
    charts: [
        "Zamówienia w czasie wg kategorii",
        "Wartość brutto w czasie wg kategorii",
        "Wartość brutto w czasie wg regionu",
        "Wartość brutto wg kategorii",
        "Wartość brutto wg regionu",
        "Wartość brutto wg kanału sprzedaży",
        "Wartość brutto wg metody płatności",
        "Wartość brutto wg miasta",
    ],
    map_note: "pole koła proporcjonalne do wartości brutto",
    no_orders_chart: "Brak zamówień w tym wyborze",
    all: "razem",
    gross: "brutto",
    net: "netto",
    units: "szt.",
    share_in: "·",
    column_per: "jedna kolumna:",
    polish_time: "czas polski",
    unfinished: "niepełny okres",
    steps: Steps {
        minutes: "min",
        hour: "godzina",
        hours: "godz.",
        day: "dzień",
        days: "dni",
        week: "tydzień",
        month: "miesiąc",
        months: "mies.",
        grains: ["godziny", "dni", "tygodnie", "miesiące"],
    },
};

const EN: Words = Words {
    title: "orderstream",
    subtitle: "live sales",
    zone: "times in Polish time (Europe/Warsaw)",
    server_rendered: "server-rendered",
    live: "live",
    reconnecting: "reconnecting",
    refresh_failed: "refresh failed",
    static_view: "static view",
    order_forms: ["order", "orders", "orders"],
    kpi_orders: "orders",
    kpi_gross: "gross value",
    kpi_net: "net value",
    kpi_units: "units",
    kpi_aov: "average order",
    kpi_repeat: "orders of repeat customers",
    no_previous: "no orders in the previous period",
    vs_previous: "vs previous period",
    vs_year_ago: "year on year",
    top_products: "Top products",
    col_product: "product",
    col_store: "store",
    top_stores: "Top stores",
    ticker: "Live orders",
    ticker_note: "(the last ten in the chosen regions and categories, live)",
    health: "Pipeline health",
    h_written: "orders written (CSV)",
    h_written_sink: "orders written",
    h_rate: "write rate (10 s average)",
    h_consumed: "messages consumed",
    h_dead: "dead letters",
    h_late: "late orders",
    h_lag: "consumer lag (messages)",
    h_ready: "ready",
    h_screen: "order to screen",
    h_newest: "newest order",
    h_durable: "last durable write",
    yes: "yes",
    no: "no",
    per_second: "orders/s",
    range: "Period",
    custom_range: "custom (from–to)",
    from: "from",
    to: "to",
    grain: "Columns",
    grain_auto: "fit to the period",
    region: "Region",
    category: "Category",
    all_regions: "all regions",
    all_categories: "all categories",
    apply: "Apply",
    clear: "Clear filters",
    data_up_to: "data up to",
    no_data: "no data",
    jump_latest: "jump to the latest data",
    export: "Export",
    export_orders: "orders (CSV)",
    export_xlsx: "this view (XLSX)",
    export_list: "list of the orders",
    other_language: "Polski",
    charts: [
        "Orders over time by category",
        "Gross value over time by category",
        "Gross value over time by region",
        "Gross value by category",
        "Gross value by region",
        "Gross value by sales channel",
        "Gross value by payment method",
        "Gross value by city",
    ],
    map_note: "circle area in proportion to gross value",
    no_orders_chart: "No orders in this selection yet",
    all: "all",
    gross: "gross",
    net: "net",
    units: "units",
    share_in: "·",
    column_per: "one column per",
    polish_time: "Polish time",
    unfinished: "unfinished",
    steps: Steps {
        minutes: "min",
        hour: "hour",
        hours: "h",
        day: "day",
        days: "days",
        week: "week",
        month: "month",
        months: "months",
        grains: ["hours", "days", "weeks", "months"],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_counts_take_the_right_form() {
        let n = |n: u64| Lang::Pl.orders(n, &n.to_string());
        assert_eq!(n(1), "1 zamówienie");
        assert_eq!(n(3), "3 zamówienia");
        assert_eq!(n(5), "5 zamówień");
        assert_eq!(n(12), "12 zamówień");
        assert_eq!(n(22), "22 zamówienia");
        assert_eq!(n(112), "112 zamówień");
        assert_eq!(Lang::En.orders(1, "1"), "1 order");
        assert_eq!(Lang::En.orders(2, "2"), "2 orders");
    }

    #[test]
    fn every_code_has_a_label_in_both_languages() {
        for lang in [Lang::Pl, Lang::En] {
            for p in Payment::ALL {
                assert!(!lang.label(p.as_str()).contains('_'), "{p}");
            }
            assert_eq!(lang.label("Telewizory"), "Telewizory");
        }
        assert_eq!(Lang::Pl.label("in_store"), "Sklep stacjonarny");
        assert_eq!(Lang::Pl.label("Polnoc"), "Północ");
    }
}
