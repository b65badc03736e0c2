//! Gross value by store city on a map of Poland: a circle per city, its area in
//! proportion to the city's gross value, over the country's border. Drawn from geometry
//! shipped here (no tile server), so the page works offline.
//!
//! The border is Natural Earth's 1:50m Admin 0 country boundary of Poland (version 4.1.0,
//! public domain: naturalearthdata.com/about/terms-of-use), simplified to 136 points
//! (Douglas-Peucker, 0.02°). City positions are the cities' centres, rounded to 0.01°.

use std::collections::BTreeMap;

use super::format;
use super::svg::{self, Anchor, Svg, MUTED, PALETTE};
use crate::analytics::Ranked;
use crate::html::esc;
use crate::lang::Lang;
use crate::order::Region;

/// Poland's border, (longitude, latitude) in degrees.
const BORDER: [(f64, f64); 136] = [
    (23.60, 51.52),
    (23.68, 51.40),
    (23.66, 51.31),
    (23.86, 51.13),
    (23.99, 50.94),
    (24.10, 50.87),
    (24.10, 50.84),
    (23.98, 50.79),
    (24.05, 50.72),
    (24.09, 50.62),
    (24.09, 50.53),
    (23.97, 50.41),
    (23.71, 50.38),
    (23.41, 50.17),
    (23.03, 49.90),
    (22.65, 49.54),
    (22.73, 49.29),
    (22.71, 49.17),
    (22.85, 49.08),
    (22.81, 49.02),
    (22.02, 49.21),
    (21.97, 49.30),
    (21.89, 49.34),
    (21.64, 49.41),
    (21.08, 49.42),
    (21.00, 49.34),
    (20.87, 49.32),
    (20.62, 49.39),
    (20.36, 49.38),
    (20.16, 49.32),
    (20.06, 49.18),
    (19.92, 49.22),
    (19.76, 49.20),
    (19.79, 49.27),
    (19.77, 49.37),
    (19.63, 49.41),
    (19.44, 49.60),
    (19.25, 49.51),
    (19.15, 49.40),
    (18.97, 49.40),
    (18.94, 49.50),
    (18.83, 49.51),
    (18.81, 49.61),
    (18.60, 49.76),
    (18.56, 49.88),
    (18.35, 49.93),
    (18.30, 49.91),
    (18.03, 50.04),
    (17.88, 49.97),
    (17.63, 50.12),
    (17.59, 50.16),
    (17.71, 50.19),
    (17.74, 50.23),
    (17.70, 50.31),
    (17.42, 50.25),
    (17.15, 50.38),
    (16.88, 50.43),
    (16.99, 50.24),
    (16.64, 50.10),
    (16.34, 50.37),
    (16.21, 50.42),
    (16.36, 50.50),
    (16.42, 50.57),
    (16.28, 50.66),
    (16.01, 50.61),
    (15.95, 50.67),
    (15.73, 50.74),
    (15.36, 50.81),
    (15.28, 50.88),
    (15.26, 50.96),
    (14.99, 51.01),
    (14.98, 50.89),
    (14.81, 50.86),
    (14.96, 51.09),
    (15.02, 51.25),
    (14.91, 51.46),
    (14.73, 51.52),
    (14.74, 51.63),
    (14.60, 51.83),
    (14.68, 51.91),
    (14.75, 52.08),
    (14.70, 52.11),
    (14.68, 52.25),
    (14.61, 52.28),
    (14.55, 52.36),
    (14.62, 52.53),
    (14.51, 52.64),
    (14.13, 52.88),
    (14.14, 52.93),
    (14.37, 53.10),
    (14.41, 53.22),
    (14.42, 53.28),
    (14.30, 53.56),
    (14.26, 53.73),
    (14.58, 53.64),
    (14.56, 53.82),
    (14.21, 53.87),
    (14.20, 53.92),
    (14.21, 53.95),
    (14.38, 53.92),
    (15.29, 54.14),
    (16.19, 54.29),
    (16.56, 54.55),
    (16.89, 54.60),
    (17.26, 54.73),
    (18.08, 54.84),
    (18.32, 54.84),
    (18.76, 54.68),
    (18.80, 54.63),
    (18.44, 54.75),
    (18.59, 54.51),
    (18.67, 54.43),
    (18.98, 54.35),
    (19.41, 54.39),
    (19.60, 54.46),
    (22.17, 54.36),
    (22.73, 54.35),
    (22.82, 54.40),
    (22.89, 54.39),
    (23.02, 54.35),
    (23.04, 54.30),
    (23.28, 54.24),
    (23.45, 54.14),
    (23.48, 53.96),
    (23.60, 53.60),
    (23.79, 53.27),
    (23.89, 53.03),
    (23.90, 52.70),
    (23.41, 52.52),
    (23.18, 52.29),
    (23.60, 52.10),
    (23.65, 52.04),
    (23.61, 51.88),
    (23.63, 51.81),
    (23.55, 51.71),
    (23.54, 51.62),
];

/// Longitude and latitude of each city the chain has a store in.
const CITIES: [(&str, f64, f64); 48] = [
    ("Białystok", 23.16, 53.13),
    ("Bielsko-Biała", 19.04, 49.82),
    ("Bydgoszcz", 18.01, 53.12),
    ("Częstochowa", 19.12, 50.81),
    ("Elbląg", 19.40, 54.16),
    ("Ełk", 22.36, 53.83),
    ("Gdańsk", 18.65, 54.35),
    ("Gdynia", 18.53, 54.52),
    ("Gliwice", 18.67, 50.29),
    ("Gorzów Wielkopolski", 15.24, 52.73),
    ("Grudziądz", 18.75, 53.48),
    ("Jelenia Góra", 15.73, 50.90),
    ("Kalisz", 18.09, 51.76),
    ("Katowice", 19.02, 50.26),
    ("Kielce", 20.63, 50.87),
    ("Konin", 18.25, 52.22),
    ("Koszalin", 16.17, 54.19),
    ("Kraków", 19.94, 50.06),
    ("Legnica", 16.16, 51.21),
    ("Lublin", 22.57, 51.25),
    ("Nowy Sącz", 20.69, 49.62),
    ("Olsztyn", 20.49, 53.78),
    ("Opole", 17.93, 50.67),
    ("Piotrków Trybunalski", 19.70, 51.41),
    ("Piła", 16.74, 53.15),
    ("Poznań", 16.93, 52.41),
    ("Przemyśl", 22.77, 49.78),
    ("Płock", 19.71, 52.55),
    ("Radom", 21.15, 51.40),
    ("Rybnik", 18.55, 50.10),
    ("Rzeszów", 22.00, 50.04),
    ("Siedlce", 22.29, 52.17),
    ("Sopot", 18.56, 54.44),
    ("Sosnowiec", 19.10, 50.29),
    ("Suwałki", 22.93, 54.10),
    ("Szczecin", 14.55, 53.43),
    ("Słupsk", 17.03, 54.46),
    ("Tarnów", 20.99, 50.01),
    ("Terespol", 23.62, 52.08),
    ("Toruń", 18.60, 53.01),
    ("Warszawa", 21.01, 52.23),
    ("Wałbrzych", 16.28, 50.77),
    ("Wrocław", 17.04, 51.11),
    ("Włocławek", 19.07, 52.65),
    ("Zamość", 23.25, 50.72),
    ("Zielona Góra", 15.51, 51.94),
    ("Łomża", 22.06, 53.18),
    ("Łódź", 19.46, 51.76),
];

/// A city's position, if it is listed.
fn position(city: &str) -> Option<(f64, f64)> {
    CITIES.iter().find(|(c, _, _)| *c == city).map(|(_, lon, lat)| (*lon, *lat))
}

/// One city's sums.
#[derive(Debug, Default)]
struct City {
    voivodeship: &'static str,
    region: Option<Region>,
    gross_grosz: i64,
    orders: u64,
}

/// Draws the map of `stores` (every store with orders, as the summary ranks them),
/// `width` px wide. A click on a city's circle filters the page by the city's region.
pub(crate) fn draw(name: &str, title: &str, stores: &[Ranked], width: f64, lang: Lang) -> String {
    let words = lang.words();
    let mut cities: BTreeMap<&'static str, City> = BTreeMap::new();
    for ranked in stores {
        let store = Region::ALL
            .iter()
            .flat_map(|r| r.stores().iter().map(move |s| (*r, s)))
            .find(|(_, s)| s.id == ranked.name);
        let Some((region, store)) = store else { continue };
        let city = cities.entry(store.city).or_default();
        city.voivodeship = store.voivodeship;
        city.region = Some(region);
        city.gross_grosz += ranked.totals.gross_value_grosz;
        city.orders += ranked.totals.orders;
    }
    let all: i64 = cities.values().map(|c| c.gross_grosz).sum();
    let orders: u64 = cities.values().map(|c| c.orders).sum();
    // An equirectangular projection, stretched by the cosine of Poland's middle latitude.
    let (west, east, south, north) = (14.0, 24.25, 48.95, 54.9);
    let stretch = 52.0_f64.to_radians().cos();
    let top = 64.0;
    let map_width = (width - 16.0).max(100.0);
    let scale = map_width / ((east - west) * stretch);
    let map_height = (north - south) * scale;
    let height = top + map_height + 10.0;
    let x = |lon: f64| 8.0 + (lon - west) * stretch * scale;
    let y = |lat: f64| top + (north - lat) * scale;
    let mut svg = Svg::new(name, width, height, title);
    svg.text("title", 8.0, 18.0, Anchor::Start, 14.0, "#111", title);
    let figures = format!(
        "{} {} {}",
        format::zl_compact(all as f64 / 100.0),
        words.share_in,
        lang.orders(orders, &format::count(orders))
    );
    // On a narrow card the note takes a line of its own.
    let one_line = format!("{figures} · {}", words.map_note);
    if svg::text_width(&one_line, 11.0) + 16.0 <= width {
        svg.text("subtitle", 8.0, 36.0, Anchor::Start, 11.0, MUTED, &one_line);
    } else {
        svg.text("subtitle", 8.0, 36.0, Anchor::Start, 11.0, MUTED, &figures);
        svg.text("subtitle", 8.0, 51.0, Anchor::Start, 11.0, MUTED, words.map_note);
    }
    let points: Vec<String> =
        BORDER.iter().map(|(lon, lat)| format!("{:.1},{:.1}", x(*lon), y(*lat))).collect();
    svg.raw(&format!(
        r##"<polygon class="border" points="{}" fill="#f1f5f9" stroke="#94a3b8" stroke-width="1"/>"##,
        points.join(" ")
    ));
    if all <= 0 {
        svg.empty(width, top + map_height / 2.0, words.no_orders_chart);
        return svg.finish();
    }
    let largest = cities.values().map(|c| c.gross_grosz).max().unwrap_or(1).max(1) as f64;
    let max_radius = (map_width * 0.05).clamp(8.0, 40.0);
    // The largest first: small circles are drawn over large ones, so each stays
    // visible and clickable.
    let mut order: Vec<(&&str, &City)> = cities.iter().collect();
    order.sort_by_key(|(_, c)| std::cmp::Reverse(c.gross_grosz));
    for (city, sums) in order {
        let Some((lon, lat)) = position(city) else { continue };
        let radius = (sums.gross_grosz.max(0) as f64 / largest).sqrt() * max_radius;
        let region = sums.region.map_or(0, Region::index);
        let tooltip = format!(
            "{city} ({}, {}): {} {}, {}",
            sums.voivodeship,
            sums.region.map_or("", |r| lang.region(r)),
            format::zl_exact(sums.gross_grosz),
            words.gross,
            lang.orders(sums.orders, &format::count(sums.orders)),
        );
        let code = sums.region.map_or("", Region::as_str);
        svg.raw(&format!(
            r##"<circle class="city" cx="{:.1}" cy="{:.1}" r="{:.1}" fill="{}" fill-opacity="0.7" stroke="#fff" data-filter="region" data-value="{}" cursor="pointer"><title>{}</title></circle>"##,
            x(lon),
            y(lat),
            radius.max(2.0),
            PALETTE[region % PALETTE.len()],
            esc(code),
            esc(&tooltip)
        ));
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_store_city_is_on_the_map_inside_poland() {
        for region in Region::ALL {
            for store in region.stores() {
                let (lon, lat) =
                    position(store.city).unwrap_or_else(|| panic!("{} has no position", store.city));
                assert!((14.1..24.2).contains(&lon) && (49.0..54.9).contains(&lat), "{}", store.city);
            }
        }
    }
}
