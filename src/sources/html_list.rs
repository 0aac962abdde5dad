//! List pages read with CSS selectors (korea.kr's press-release list, ministry boards).

use scraper::{ElementRef, Html};
use url::Url;

use super::{ParseError, decode};
use crate::config::{ListSelectors, RowFilter};
use crate::items::{self, Item};

/// Parses a list page into items, in page order. Zero rows matching `item` is an error (the
/// layout probably changed); rows removed by the filter are normal.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
    select: &ListSelectors,
    filter: Option<&RowFilter>,
) -> Result<Vec<Item>, ParseError> {
    let text = decode::html_text(bytes, content_type);
    let page = Html::parse_document(&text);
    let base = page_base(&page, base);
    let mut rows = 0;
    let mut out = Vec::new();
    for row in page.select(&select.item.selector) {
        rows += 1;
        if let Some(filter) = filter
            && !keep_row(row, filter)
        {
            continue;
        }
        let Some(title_el) = row.select(&select.title.selector).next() else {
            continue;
        };
        let title = element_text(title_el);
        if title.is_empty() {
            continue;
        }
        let link = match &select.link {
            Some(sel) => row.select(&sel.selector).next().and_then(href),
            None => href(title_el)
                .or_else(|| {
                    title_el
                        .ancestors()
                        .filter_map(ElementRef::wrap)
                        .find_map(href)
                })
                .or_else(|| row.select(&A).next().and_then(href)),
        }
        .and_then(|h| items::resolve_link(&base, &h));
        let published = select
            .date
            .as_ref()
            .and_then(|sel| row.select(&sel.selector).next())
            .and_then(|el| items::parse_date(&element_text(el)));
        let summary = select
            .summary
            .as_ref()
            .and_then(|sel| row.select(&sel.selector).next())
            .map(element_text);
        out.push(Item::new(None, &title, link, summary.as_deref(), published));
    }
    if rows == 0 {
        return Err(ParseError::NoRows(select.item.text.clone()));
    }
    Ok(out)
}

static A: std::sync::LazyLock<scraper::Selector> =
    std::sync::LazyLock::new(|| scraper::Selector::parse("a[href]").expect("valid selector"));

fn keep_row(row: ElementRef<'_>, filter: &RowFilter) -> bool {
    let text = match &filter.selector {
        Some(sel) => row
            .select(&sel.selector)
            .map(element_text)
            .collect::<Vec<_>>()
            .join(" "),
        None => element_text(row),
    };
    filter
        .any_of
        .iter()
        .any(|needle| text.contains(needle.as_str()))
}

fn href(el: ElementRef<'_>) -> Option<String> {
    el.value().attr("href").map(str::to_owned)
}

fn element_text(el: ElementRef<'_>) -> String {
    items::collapse_whitespace(&el.text().collect::<String>())
}

/// Honours `<base href>` when the page has one.
fn page_base(page: &Html, url: &Url) -> Url {
    static BASE: std::sync::LazyLock<scraper::Selector> = std::sync::LazyLock::new(|| {
        scraper::Selector::parse("base[href]").expect("valid selector")
    });
    page.select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| url.join(h).ok())
        .unwrap_or_else(|| url.clone())
}
