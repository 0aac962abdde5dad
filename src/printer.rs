//! Where dry runs and `once` print notices: one shared text output (stdout in the binary, a
//! buffer in tests), used by the deliverer and by the ingest stage's baseline previews.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A shared text output (stdout in the binary, a buffer in tests).
#[derive(Clone)]
pub struct Printer(Arc<Mutex<Box<dyn Write + Send>>>);

impl Printer {
    pub fn stdout() -> Printer {
        Printer::new(Box::new(std::io::stdout()))
    }

    pub fn new(out: Box<dyn Write + Send>) -> Printer {
        Printer(Arc::new(Mutex::new(out)))
    }

    pub fn print(&self, text: &str) -> std::io::Result<()> {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}
