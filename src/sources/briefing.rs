//! The policy portal's press-release API (공공데이터포털 "정책브리핑 보도자료",
//! `apis.data.go.kr/1371000/pressReleaseService/pressReleaseList`): every ministry's releases in
//! one official call, which public archives of every release since 2020 use.
//!
//! A poll asks for yesterday and today (KST), so a release approved just before midnight is not
//! missed, and keeps the ministries in `ministries` (`MinisterCode`). The answer is XML:
//! `response/header/(resultCode, resultMsg)` and `response/body/NewsItem*` with `NewsItemId`
//! (the identity), `Title`, `SubTitle1..3` and `DataContents` (the summary), `MinisterCode`,
//! `ApproveDate` (`MM/DD/YYYY HH:MM:SS`, KST: the published time) and `OriginalUrl` (the
//! korea.kr view page: the link). Gateway errors come in another envelope, often with HTTP 403:
//! `OpenAPI_ServiceResponse/cmmMsgHeader/(errMsg, returnAuthMsg, returnReasonCode)`; each code
//! is named with its fix. A result code other than success is an error too: never a silent
//! empty poll.
//!
//! The service key comes from `POLICY_WATCH_SERVICE_KEY`, the source's `service_key_file`, or
//! the systemd credential `briefing-service-key` — never from the config — and is masked like
//! the bot token. The portal issues each key in two spellings, percent-encoded and plain; either
//! is accepted and sent once encoded.

use std::path::PathBuf;

use chrono::{NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use url::Url;

use super::{ParseError, Parsed};
use crate::config::SourceConfig;
use crate::items::{Item, kst};

/// The environment variable that holds the service key.
pub const KEY_ENV: &str = "POLICY_WATCH_SERVICE_KEY";
/// The systemd credential that holds it (`LoadCredential=briefing-service-key:…`).
pub(crate) const KEY_CREDENTIAL: &str = "briefing-service-key";

/// Why a source of this kind has no key to send.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "source {source_id:?} needs the portal's service key: set {KEY_ENV}, or service_key_file in the source, or the systemd credential {KEY_CREDENTIAL} (README: \"The policy portal's API\")"
    )]
    Missing { source_id: String },
    #[error("cannot read the service key from {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the service key for source {source_id:?} is empty")]
    Empty { source_id: String },
}

/// The service key, from the environment, the source's key file or the systemd credential;
/// registered for masking.
pub(crate) fn service_key(source: &SourceConfig) -> Result<String, KeyError> {
    let from_file = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .map(|k| k.trim().to_owned())
            .map_err(|source| KeyError::Unreadable { path, source })
    };
    let credential = std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|dir| std::path::Path::new(&dir).join(KEY_CREDENTIAL))
        .filter(|path| path.exists());
    let key = if let Ok(key) = std::env::var(KEY_ENV)
        && !key.trim().is_empty()
    {
        key.trim().to_owned()
    } else if let Some(path) = &source.service_key_file {
        from_file(path.clone())?
    } else if let Some(path) = credential {
        from_file(path)?
    } else {
        return Err(KeyError::Missing {
            source_id: source.id().to_owned(),
        });
    };
    if key.is_empty() {
        return Err(KeyError::Empty {
            source_id: source.id().to_owned(),
        });
    }
    let encoded = encode_key(&key);
    crate::secret::register(&key);
    crate::secret::register(&encoded);
    if let Ok(decoded) = percent_decode(&key) {
        crate::secret::register(&decoded);
    }
    Ok(key)
}

/// The key as it goes into the query: percent-encoded once. A key that is already encoded (it
/// holds `%XX`) goes as it is; a plain one is encoded.
pub(crate) fn encode_key(key: &str) -> String {
    if percent_decode(key).is_ok_and(|decoded| decoded != key) {
        return key.to_owned();
    }
    url::form_urlencoded::byte_serialize(key.as_bytes()).collect()
}

fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// The request of a poll at `now`: yesterday and today in KST.
pub(crate) fn request_url(base: &Url, key: &str, now: chrono::DateTime<Utc>) -> Url {
    let today = now.with_timezone(&kst()).date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    let mut url = base.clone();
    // The key is put in as it is encoded (set_query would encode a `%` again).
    let mut query = format!(
        "serviceKey={}&startDate={}&endDate={}&numOfRows=1000",
        encode_key(key),
        yesterday.format("%Y%m%d"),
        today.format("%Y%m%d")
    );
    if let Some(existing) = base.query().filter(|q| !q.is_empty()) {
        query = format!("{existing}&{query}");
    }
    url.set_query(Some(&query));
    url
}

/// What the gateway's `returnReasonCode` means, and what to do.
fn gateway_error(code: &str, message: &str) -> String {
    let fix = match code {
        "20" => {
            "access denied: the key may not use this API; check the key's permissions in the portal"
        }
        "22" => {
            "the daily request quota is used up; it resets at midnight KST (or ask the portal for a larger quota)"
        }
        "30" => {
            "the service key is not registered for this API (or not approved yet): apply for \"정책브리핑 보도자료\" in the portal (data.go.kr) with this key"
        }
        "31" => "the service key has expired: renew it in the portal",
        "32" => "this machine's IP address is not registered for the key: add it in the portal",
        "10" => "a request parameter is wrong (a bug, or the API changed)",
        "12" => "the portal says this service does not exist: check the source's url",
        "1" | "99" => "the portal failed; it is retried with backoff",
        _ => "see the portal's error code list",
    };
    format!("policy portal API error {code} ({message}): {fix}")
}

/// `response` as the API answers.
#[derive(Debug, Deserialize)]
struct Response {
    header: Header,
    #[serde(default)]
    body: Option<Body>,
}

#[derive(Debug, Deserialize)]
struct Header {
    #[serde(rename = "resultCode", default)]
    result_code: String,
    #[serde(rename = "resultMsg", default)]
    result_msg: String,
}

#[derive(Debug, Default, Deserialize)]
struct Body {
    #[serde(rename = "NewsItem", default)]
    items: Vec<NewsItem>,
}

#[derive(Debug, Deserialize)]
struct NewsItem {
    #[serde(rename = "NewsItemId", default)]
    id: String,
    #[serde(rename = "Title", default)]
    title: String,
    #[serde(rename = "SubTitle1", default)]
    subtitle1: String,
    #[serde(rename = "SubTitle2", default)]
    subtitle2: String,
    #[serde(rename = "SubTitle3", default)]
    subtitle3: String,
    #[serde(rename = "MinisterCode", default)]
    ministry: String,
    #[serde(rename = "ApproveDate", default)]
    approved: String,
    #[serde(rename = "OriginalUrl", default)]
    link: String,
    #[serde(rename = "DataContents", default)]
    contents: String,
}

/// The gateway's error envelope.
#[derive(Debug, Deserialize)]
struct ServiceResponse {
    #[serde(rename = "cmmMsgHeader")]
    header: GatewayHeader,
}

#[derive(Debug, Deserialize)]
struct GatewayHeader {
    #[serde(rename = "errMsg", default)]
    err_msg: String,
    #[serde(rename = "returnAuthMsg", default)]
    auth_msg: String,
    #[serde(rename = "returnReasonCode", default)]
    code: String,
}

/// Reads an answer of the API: its releases of `ministries` (all when empty), or the error the
/// gateway or the service gave, named with its fix.
pub(crate) fn parse(bytes: &[u8], ministries: &[String]) -> Result<Parsed, ParseError> {
    let xml = String::from_utf8_lossy(bytes);
    if xml.contains("<OpenAPI_ServiceResponse") {
        let e: ServiceResponse = quick_xml::de::from_str(&xml).map_err(|e| {
            ParseError::NotAFeed(format!(
                "the policy portal gateway answered an error that cannot be read: {e}"
            ))
        })?;
        let message = if e.header.auth_msg.trim().is_empty() {
            e.header.err_msg
        } else {
            e.header.auth_msg
        };
        return Err(ParseError::NotAFeed(gateway_error(
            e.header.code.trim(),
            message.trim(),
        )));
    }
    let response: Response = quick_xml::de::from_str(&xml).map_err(|e| {
        ParseError::NotAFeed(format!(
            "the policy portal API answered something else than its XML ({e}): {:?}…",
            crate::items::truncate_chars(xml.trim(), 80)
        ))
    })?;
    let code = response.header.result_code.trim();
    if !matches!(code, "00" | "0") {
        return Err(ParseError::NotAFeed(format!(
            "policy portal API result {code:?} ({}): the request was refused; it is retried with backoff",
            response.header.result_msg.trim()
        )));
    }
    let mut parsed = Parsed::default();
    for news in response.body.unwrap_or_default().items {
        parsed.stats.rows += 1;
        if !ministries.is_empty() && !ministries.iter().any(|m| m == news.ministry.trim()) {
            parsed.stats.filtered += 1;
            continue;
        }
        if news.id.trim().is_empty() {
            parsed.stats.unidentified += 1;
            continue;
        }
        if news.title.trim().is_empty() {
            parsed.stats.untitled += 1;
            continue;
        }
        let link = Url::parse(news.link.trim()).ok();
        if link.is_none() {
            parsed.stats.unlinked += 1;
        }
        let published = NaiveDateTime::parse_from_str(news.approved.trim(), "%m/%d/%Y %H:%M:%S")
            .ok()
            .and_then(|d| kst().from_local_datetime(&d).single())
            .map(|d| d.with_timezone(&Utc));
        // The subtitles, then the body (HTML), as the summary.
        let summary: Vec<&str> = [
            &news.subtitle1,
            &news.subtitle2,
            &news.subtitle3,
            &news.contents,
        ]
        .into_iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
        let summary = summary.join("<br>");
        parsed.items.push(Item::new(
            Some(news.id.trim()),
            &news.title,
            link,
            Some(&summary),
            published,
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_sent_encoded_once_whichever_spelling_was_pasted() {
        let plain = "ab+c/d==";
        let encoded = "ab%2Bc%2Fd%3D%3D";
        assert_eq!(encode_key(plain), encoded);
        assert_eq!(encode_key(encoded), encoded);
        let base = Url::parse("https://apis.example/1371000/pressReleaseService/pressReleaseList")
            .unwrap();
        let now = kst()
            .with_ymd_and_hms(2026, 3, 2, 0, 10, 0)
            .unwrap()
            .with_timezone(&Utc);
        for key in [plain, encoded] {
            let url = request_url(&base, key, now);
            assert_eq!(
                url.query(),
                Some(
                    "serviceKey=ab%2Bc%2Fd%3D%3D&startDate=20260301&endDate=20260302&numOfRows=1000"
                )
            );
        }
    }

    #[test]
    fn gateway_errors_are_named_with_their_fix() {
        let body = b"<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg><returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>";
        let e = parse(body, &[]).unwrap_err().to_string();
        assert!(e.contains("error 30") && e.contains("apply for"), "{e}");
        let body = b"<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg><returnAuthMsg>LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR</returnAuthMsg><returnReasonCode>22</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>";
        let e = parse(body, &[]).unwrap_err().to_string();
        assert!(e.contains("quota") && e.contains("midnight KST"), "{e}");
        let e = parse(b"<html>maintenance</html>", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("something else than its XML"), "{e}");
    }
}
