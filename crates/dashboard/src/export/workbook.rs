//! `/api/view.xlsx`: a view's figures as an Excel workbook, written by rust_xlsxwriter.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::analytics::{Ranked, Summary, TotalsReport};
use crate::charts::format;
use crate::error::ApiError;
use crate::lang::Lang;
use crate::order::Region;
use crate::state::LiveState;
use crate::view::{Params, View};

/// A headline figure: its label, how it is read from totals, whether it is money.
type Figure = (&'static str, fn(&TotalsReport) -> f64, bool);

/// A row of a breakdown sheet: its name, its code or group, its figures.
type Line = (String, String, TotalsReport);

/// `GET /api/view.xlsx`.
pub(crate) async fn view_xlsx(
    State(state): State<Arc<LiveState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let view = View::parse(&state, &params, &[])?;
    let mut analytics = state.analytics();
    let summary = analytics.summary(&view.filter, 1000);
    let previous = crate::api::previous_period(&mut analytics, &view.filter).map(|p| p.totals);
    let series = analytics.series(&view.filter);
    let covered = analytics.covered(&view.filter);
    let newest = analytics.newest_ms();
    let categories: Vec<&'static str> = analytics
        .categories()
        .iter()
        .enumerate()
        .filter(|(i, _)| view.filter.categories.keeps(*i))
        .map(|(_, c)| c.name)
        .collect();
    drop(analytics);
    let regions: Vec<&'static str> = Region::ALL
        .iter()
        .filter(|r| view.filter.regions.keeps(r.index()))
        .map(|r| view.lang.region(*r))
        .collect();
    let book = Book {
        lang: view.lang,
        summary: &summary,
        previous: previous.as_ref(),
        covered,
        newest,
        regions,
        categories,
    };
    // A workbook of a view is small (one row per product at most), so it is built whole.
    let bytes =
        book.write(&series).map_err(|e| ApiError::internal(format!("cannot write the workbook: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"orderstream-view.xlsx\"".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// What the workbook holds.
struct Book<'a> {
    lang: Lang,
    summary: &'a Summary,
    previous: Option<&'a TotalsReport>,
    covered: (Option<i64>, Option<i64>),
    newest: Option<i64>,
    regions: Vec<&'static str>,
    categories: Vec<&'static str>,
}

impl Book<'_> {
    fn write(&self, series: &[(i64, crate::analytics::Totals)]) -> Result<Vec<u8>, XlsxError> {
        let pl = self.lang == Lang::Pl;
        let t = |p: &'static str, e: &'static str| if pl { p } else { e };
        let money = Format::new().set_num_format("#,##0.00 \"zł\"");
        let bold = Format::new().set_bold();
        let mut book = Workbook::new();

        let sheet = book.add_worksheet().set_name(t("Podsumowanie", "Summary"))?;
        sheet.set_column_width(0, 34)?;
        sheet.set_column_width(1, 22)?;
        sheet.set_column_width(2, 22)?;
        let when =
            |ms: Option<i64>| ms.map_or_else(|| t("bez granicy", "unbounded").to_string(), format::instant);
        let info = [
            (t("Okres od", "From"), when(self.covered.0)),
            (t("Okres do (wyłącznie)", "To (exclusive)"), when(self.covered.1)),
            (t("Regiony", "Regions"), self.regions.join(", ")),
            (t("Kategorie", "Categories"), self.categories.join(", ")),
            (t("Dane do", "Data up to"), when(self.newest)),
            (t("Strefa czasowa", "Time zone"), "Europe/Warsaw".to_string()),
        ];
        for (row, (label, value)) in info.iter().enumerate() {
            sheet.write_string_with_format(row as u32, 0, *label, &bold)?;
            sheet.write_string(row as u32, 1, value)?;
        }
        let top = info.len() as u32 + 1;
        sheet.write_string_with_format(top, 1, t("Wybrany okres", "This period"), &bold)?;
        sheet.write_string_with_format(top, 2, t("Poprzedni okres", "Previous period"), &bold)?;
        let total = &self.summary.total;
        let headline: [Figure; 5] = [
            (t("Zamówienia", "Orders"), |r| r.orders as f64, false),
            (t("Sztuki", "Units"), |r| r.units as f64, false),
            (t("Wartość brutto", "Gross value"), |r| r.gross_value_grosz as f64 / 100.0, true),
            (t("Wartość netto", "Net value"), |r| r.net_value_grosz as f64 / 100.0, true),
            (t("Średnie zamówienie", "Average order"), |r| r.avg_order_value, true),
        ];
        for (i, (label, value, is_money)) in headline.iter().enumerate() {
            let row = top + 1 + i as u32;
            sheet.write_string(row, 0, *label)?;
            for (col, report) in [(1u16, Some(total)), (2, self.previous)] {
                let Some(report) = report else { continue };
                if *is_money {
                    sheet.write_number_with_format(row, col, value(report), &money)?;
                } else {
                    sheet.write_number(row, col, value(report))?;
                }
            }
        }

        let named = |map: &std::collections::BTreeMap<&'static str, TotalsReport>| -> Vec<Line> {
            map.iter()
                .map(|(code, r)| (self.lang.label(code).to_string(), code.to_string(), r.clone()))
                .collect()
        };
        let ranked = |list: &[Ranked], group_label: bool| -> Vec<Line> {
            list.iter()
                .map(|r| {
                    let group = if group_label { self.lang.label(r.group) } else { r.group };
                    (r.name.to_string(), group.to_string(), r.totals.clone())
                })
                .collect()
        };
        let s = self.summary;
        // The headings of what `figures` writes.
        let figure_headings =
            [t("zamówienia", "orders"), t("sztuki", "units"), t("brutto", "gross"), t("netto", "net")];
        let tables: [(&str, &str, Vec<Line>); 8] = [
            (t("Regiony", "Regions"), t("kod", "code"), named(&s.by_region)),
            (t("Kategorie", "Categories"), t("kod", "code"), named(&s.by_category)),
            (t("Kanały", "Channels"), t("kod", "code"), named(&s.by_channel)),
            (t("Płatności", "Payments"), t("kod", "code"), named(&s.by_payment)),
            (t("Urządzenia", "Devices"), t("kod", "code"), named(&s.by_device)),
            (t("Produkty", "Products"), t("kategoria", "category"), ranked(&s.top_products, false)),
            (t("Sklepy", "Stores"), t("region", "region"), ranked(&s.top_stores, true)),
            (t("Marki", "Brands"), "", ranked(&s.top_brands, false)),
        ];
        for (name, second, rows) in tables {
            let sheet = book.add_worksheet().set_name(name)?;
            header(sheet, &[[name, second].as_slice(), &figure_headings].concat(), &bold)?;
            for (i, (label, group, r)) in rows.iter().enumerate() {
                let row = i as u32 + 1;
                sheet.write_string(row, 0, label)?;
                sheet.write_string(row, 1, group)?;
                figures(sheet, row, 2, r, &money)?;
            }
        }

        let sheet = book.add_worksheet().set_name(t("W czasie", "Over time"))?;
        header(
            sheet,
            &[[t("początek przedziału", "interval start")].as_slice(), &figure_headings].concat(),
            &bold,
        )?;
        for (i, (start, totals)) in series.iter().enumerate() {
            let row = i as u32 + 1;
            sheet.write_string(row, 0, format::instant(*start))?;
            figures(sheet, row, 1, &totals.report(), &money)?;
        }
        book.save_to_buffer()
    }
}

/// Orders, units, gross and net (money in złoty) from column `col` of `row`.
fn figures(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    r: &TotalsReport,
    money: &Format,
) -> Result<(), XlsxError> {
    sheet.write_number(row, col, r.orders as f64)?;
    sheet.write_number(row, col + 1, r.units as f64)?;
    sheet.write_number_with_format(row, col + 2, r.gross_value_grosz as f64 / 100.0, money)?;
    sheet.write_number_with_format(row, col + 3, r.net_value_grosz as f64 / 100.0, money)?;
    Ok(())
}

/// A bold header row and widths that fit it.
fn header(sheet: &mut Worksheet, names: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (col, name) in names.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, bold)?;
        sheet.set_column_width(col as u16, if col == 0 { 36 } else { 16 })?;
    }
    Ok(())
}
