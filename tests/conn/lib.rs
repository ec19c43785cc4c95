//! Empty: this package holds only the connection tests (`conn.rs`).
