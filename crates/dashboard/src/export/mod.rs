//! Exports of what the page shows, behind the same credentials as the page:
//!
//! - `/api/orders.csv`: the orders behind the figures (same period, regions and
//!   categories), picked from the daily CSV files and streamed, so memory stays flat
//!   whatever the period;
//! - `/api/view.xlsx`: the view's figures as an Excel workbook: the headline figures,
//!   every breakdown and the series over time, money as numbers in złoty;
//! - `/api/panel.csv?chart=NAME`: the figures behind one chart;
//! - `/orders`: the orders behind the figures as pages to read.

mod list;
mod orders;
mod panel;
mod workbook;

pub(super) use list::orders_page;
pub(super) use orders::orders_csv;
pub(super) use panel::panel_csv;
pub(super) use workbook::view_xlsx;
