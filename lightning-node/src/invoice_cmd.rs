//! `lightning-node decode-invoice INVOICE`: checks a BOLT 11 invoice with every
//! reader rule and prints its fields as one JSON object.

use bitcoin::hashes::Hash as _;
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Fallback};
use serde_json::{json, Value};

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes after the version of a fallback (`f` field).
fn fallback_program(fallback: &Fallback) -> Vec<u8> {
    match fallback {
        Fallback::SegWit(program) => program.program().as_bytes().to_vec(),
        Fallback::PubKeyHash(hash) => hash.as_byte_array().to_vec(),
        Fallback::ScriptHash(hash) => hash.as_byte_array().to_vec(),
    }
}

/// The JSON rendering of a decoded invoice. Absent optional fields are `null`
/// (`description` or `description_hash`, `metadata`); `features` is `[]` when
/// the invoice has no `9` field (no feature set is the same as no bit set);
/// expiry and `min_final_cltv_expiry_delta` carry the spec defaults when
/// absent. Fallbacks are address strings, except on simnet (`lnsb`), whose
/// addresses we cannot encode: there `network` is `null` and each fallback is
/// `{"version", "program"}` (hex) instead.
pub fn invoice_json(invoice: &Bolt11Invoice) -> Value {
    let (description, description_hash) = match invoice.description() {
        Bolt11InvoiceDescription::Direct(text) => (Some(text.clone()), None),
        Bolt11InvoiceDescription::Hash(hash) => (None, Some(hash.to_string())),
    };
    let route_hints: Vec<Value> = invoice
        .route_hints()
        .iter()
        .map(|hint| {
            hint.hops()
                .iter()
                .map(|hop| {
                    json!({
                        "src_node_id": hop.src_node_id.to_string(),
                        "short_channel_id": hop.short_channel_id.to_string(),
                        "fee_base_msat": hop.fee_base_msat,
                        "fee_proportional_millionths": hop.fee_proportional_millionths,
                        "cltv_expiry_delta": hop.cltv_expiry_delta,
                    })
                })
                .collect()
        })
        .collect();
    let fallbacks: Vec<Value> = match invoice.fallback_addresses() {
        Some(addresses) => addresses.iter().map(|a| Value::String(a.to_string())).collect(),
        None => invoice
            .fallbacks()
            .iter()
            .map(|f| json!({ "version": f.version(), "program": to_hex(&fallback_program(f)) }))
            .collect(),
    };
    let features: Vec<usize> = invoice.features().map(|f| f.set_bits().collect()).unwrap_or_default();
    json!({
        "currency": invoice.currency().prefix(),
        "network": invoice.network().map(|n| n.to_string()),
        "amount_msat": invoice.amount_msat(),
        "timestamp": invoice.timestamp_secs(),
        "payment_hash": invoice.payment_hash().to_string(),
        "payment_secret": invoice.payment_secret().to_string(),
        "description": description,
        "description_hash": description_hash,
        "payee": invoice.payee_pub_key().to_string(),
        "payee_from_n_field": invoice.payee_pub_key_from_n_field(),
        "expiry_secs": invoice.expiry_time_secs(),
        "expires_at": invoice.expires_at_secs(),
        "min_final_cltv_expiry_delta": invoice.min_final_cltv_expiry_delta(),
        "fallbacks": fallbacks,
        "route_hints": route_hints,
        "features": features,
        "metadata": invoice.payment_metadata().map(to_hex),
    })
}

/// Decodes `invoice` (a `lightning:` prefix and surrounding blanks are
/// allowed) and prints its fields as one JSON object; an invalid invoice is an
/// error saying what is wrong.
pub fn run(invoice: &str) -> Result<(), String> {
    let trimmed = invoice.trim();
    let bare = match trimmed.get(..10) {
        Some(prefix) if prefix.eq_ignore_ascii_case("lightning:") => &trimmed[10..],
        _ => trimmed,
    };
    let invoice: Bolt11Invoice = bare.parse().map_err(|e| format!("invalid invoice: {e}"))?;
    println!("{}", invoice_json(&invoice));
    Ok(())
}
