//! [`InMemorySigner`]: one channel's secrets held in memory, with the signer
//! policy of [`super::channel_signer`].

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{All, Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::sighash::SighashCache;
use bitcoin::{Amount, EcdsaSighashType, Script, Transaction};

use super::channel_signer::{ChannelSigner, EcdsaChannelSigner};
use super::SignError;
use crate::io;
use crate::ln::chan_utils::signing::{sign_p2wsh_input, verify_holder_commitment_signatures};
use crate::ln::chan_utils::{
    build_commitment_secret, commitment_secret_index, derive_private_key_with_basepoint,
    derive_private_revocation_key, get_anchor_redeemscript, get_htlc_redeemscript,
    get_revokeable_redeemscript, get_to_countersignatory_with_anchors_redeemscript, ChannelPublicKeys,
    ChannelTransactionParameters, ClosingTransaction, CommitmentFormat, CommitmentTransaction,
    CounterpartyCommitmentSecrets, HTLCOutputInCommitment, HolderCommitmentTransaction, TxCreationKeys,
    ANCHOR_OUTPUT_VALUE_SATOSHI,
};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::sync::Mutex;
use crate::util::ser::{Readable, Writeable};

/// The secrets of one channel. Not `Debug`, so they are never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelSecrets {
    /// Our key in the 2-of-2 funding output.
    pub funding_key: SecretKey,
    /// The secret of our revocation basepoint (revokes the counterparty's
    /// commitments once it reveals their secrets).
    pub revocation_base_key: SecretKey,
    /// The secret of our payment point (our `to_remote` output).
    pub payment_key: SecretKey,
    /// The secret of our delayed payment basepoint.
    pub delayed_payment_base_key: SecretKey,
    /// The secret of our HTLC basepoint.
    pub htlc_base_key: SecretKey,
    /// The shachain seed of our per-commitment secrets.
    pub commitment_seed: [u8; 32],
}

/// What the signer remembers between calls to enforce its policy. Persist it
/// with the channel (it is [`Writeable`]) and give it back with
/// [`InMemorySigner::restore_policy_state`] after re-deriving the signer.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SignerPolicyState {
    /// The highest holder commitment number whose counterparty signatures
    /// were validated (`None` before the first).
    pub highest_validated_holder_commitment: Option<u64>,
    /// Holder commitments numbered below this are revoked.
    pub holder_revoked_below: u64,
    /// Counterparty commitments numbered below this are revoked.
    pub counterparty_revoked_below: u64,
    /// The secrets the counterparty revealed.
    pub counterparty_secrets: CounterpartyCommitmentSecrets,
    /// The per-commitment points of the counterparty commitments we signed
    /// and that are not revoked yet, by commitment number: a revocation
    /// secret must match its point.
    pub counterparty_points: BTreeMap<u64, PublicKey>,
}

impl Writeable for SignerPolicyState {
    fn write<W: io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self.highest_validated_holder_commitment {
            Some(n) => {
                1u8.write(w)?;
                n.write(w)?;
            }
            None => 0u8.write(w)?,
        }
        self.holder_revoked_below.write(w)?;
        self.counterparty_revoked_below.write(w)?;
        self.counterparty_secrets.write(w)?;
        let count = u16::try_from(self.counterparty_points.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many counterparty points"))?;
        count.write(w)?;
        for (number, point) in self.counterparty_points.iter() {
            number.write(w)?;
            w.write_all(&point.serialize())?;
        }
        Ok(())
    }
}

impl Readable for SignerPolicyState {
    fn read<R: io::Read>(r: &mut R) -> Result<Self, DecodeError> {
        let highest_validated_holder_commitment = match u8::read(r)? {
            0 => None,
            1 => Some(u64::read(r)?),
            _ => return Err(DecodeError::InvalidValue),
        };
        let holder_revoked_below = Readable::read(r)?;
        let counterparty_revoked_below = Readable::read(r)?;
        let counterparty_secrets = Readable::read(r)?;
        let mut counterparty_points = BTreeMap::new();
        for _ in 0..u16::read(r)? {
            let number: u64 = Readable::read(r)?;
            let bytes: [u8; 33] = Readable::read(r)?;
            let point = PublicKey::from_slice(&bytes).map_err(|_| DecodeError::InvalidValue)?;
            counterparty_points.insert(number, point);
        }
        Ok(SignerPolicyState {
            highest_validated_holder_commitment,
            holder_revoked_below,
            counterparty_revoked_below,
            counterparty_secrets,
            counterparty_points,
        })
    }
}

/// How many per-commitment points [`KeyCache`] keeps (a payment touches our
/// current, next and next-but-one commitments).
const CACHED_POINTS: usize = 4;
/// How many holder commitments' keys [`KeyCache`] keeps (the current one and
/// the one being validated).
const CACHED_HOLDER_KEYS: usize = 2;

/// Counterparty commitment keys kept (the commitment being signed and the
/// previous one, for a retransmission).
const CACHED_COUNTERPARTY_KEYS: usize = 2;

/// Per-commitment points and holder commitment keys the signer derived, by
/// commitment number, and counterparty commitment keys by the
/// counterparty's point, newest last. Each value is a pure function of its
/// key, the signer's own secrets and the channel parameters (which cannot
/// change once provided), so a hit is exactly what deriving again would
/// give: the cache saves elliptic-curve work, never a check. Only the
/// counterparty's points come from the peer, and only as lookup keys.
#[derive(Default)]
struct KeyCache(Mutex<KeyCacheEntries>);

#[derive(Clone, Default)]
struct KeyCacheEntries {
    points: VecDeque<(u64, PublicKey)>,
    holder_keys: VecDeque<(u64, TxCreationKeys)>,
    /// Counterparty commitment keys by the counterparty's per-commitment
    /// point: a pure function of that point and the fixed parameters, so a
    /// hit equals a fresh derivation whatever the point's origin.
    counterparty_keys: VecDeque<(PublicKey, TxCreationKeys)>,
}

impl Clone for KeyCache {
    fn clone(&self) -> Self {
        KeyCache(Mutex::new(self.0.lock().clone()))
    }
}

fn cache_get<K: PartialEq, T: Copy>(entries: &VecDeque<(K, T)>, number: K) -> Option<T> {
    entries.iter().rev().find(|(n, _)| *n == number).map(|(_, v)| *v)
}

fn cache_put<K: PartialEq, T>(entries: &mut VecDeque<(K, T)>, number: K, value: T, capacity: usize) {
    if entries.iter().any(|(n, _)| *n == number) {
        return;
    }
    if entries.len() >= capacity {
        entries.pop_front();
    }
    entries.push_back((number, value));
}

/// The default channel signer: the channel's secrets in memory.
#[derive(Clone)]
pub struct InMemorySigner {
    secrets: ChannelSecrets,
    pubkeys: ChannelPublicKeys,
    channel_value_satoshis: u64,
    channel_keys_id: [u8; 32],
    channel_parameters: Option<ChannelTransactionParameters>,
    policy: SignerPolicyState,
    secp_ctx: Secp256k1<All>,
    cache: KeyCache,
}

impl core::fmt::Debug for InMemorySigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InMemorySigner")
            .field("pubkeys", &self.pubkeys)
            .field("channel_value_satoshis", &self.channel_value_satoshis)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn refused(why: &'static str) -> SignError {
    SignError::Refused(why)
}

impl InMemorySigner {
    /// A signer over `secrets` for a channel of `channel_value_satoshis`.
    pub fn new(secrets: ChannelSecrets, channel_value_satoshis: u64, channel_keys_id: [u8; 32]) -> Self {
        let secp_ctx = Secp256k1::new();
        let public = |k: &SecretKey| PublicKey::from_secret_key(&secp_ctx, k);
        let pubkeys = ChannelPublicKeys {
            funding_pubkey: public(&secrets.funding_key),
            revocation_basepoint: public(&secrets.revocation_base_key),
            payment_point: public(&secrets.payment_key),
            delayed_payment_basepoint: public(&secrets.delayed_payment_base_key),
            htlc_basepoint: public(&secrets.htlc_base_key),
        };
        InMemorySigner {
            secrets,
            pubkeys,
            channel_value_satoshis,
            channel_keys_id,
            channel_parameters: None,
            policy: SignerPolicyState::default(),
            secp_ctx,
            cache: KeyCache::default(),
        }
    }

    /// The channel value given at creation.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.channel_value_satoshis
    }

    /// The policy state to persist.
    pub fn policy_state(&self) -> &SignerPolicyState {
        &self.policy
    }

    /// Restores a persisted policy state (after re-deriving the signer).
    pub fn restore_policy_state(&mut self, state: SignerPolicyState) {
        self.policy = state;
    }

    fn params(&self) -> Result<&ChannelTransactionParameters, SignError> {
        self.channel_parameters.as_ref().ok_or(SignError::ChannelParametersMissing)
    }

    fn commitment_secret(&self, commitment_number: u64) -> Result<[u8; 32], SignError> {
        let index = commitment_secret_index(commitment_number).ok_or(SignError::InvalidInput)?;
        Ok(build_commitment_secret(&self.secrets.commitment_seed, index))
    }

    fn holder_revoked(&self, commitment_number: u64) -> bool {
        commitment_number < self.policy.holder_revoked_below
    }

    /// Our keys for our commitment `commitment_number` (kept in the cache).
    fn holder_tx_keys(&self, commitment_number: u64) -> Result<TxCreationKeys, SignError> {
        if let Some(keys) = cache_get(&self.cache.0.lock().holder_keys, commitment_number) {
            return Ok(keys);
        }
        let params = self.params()?;
        let point = self.get_per_commitment_point(commitment_number)?;
        let keys =
            TxCreationKeys::derive_new(&self.secp_ctx, &point, &self.pubkeys, &params.counterparty().pubkeys);
        cache_put(&mut self.cache.0.lock().holder_keys, commitment_number, keys, CACHED_HOLDER_KEYS);
        Ok(keys)
    }

    /// The keys of the counterparty's commitment built on `point`.
    fn counterparty_tx_keys(&self, point: &PublicKey) -> Result<TxCreationKeys, SignError> {
        if let Some(keys) = cache_get(&self.cache.0.lock().counterparty_keys, *point) {
            return Ok(keys);
        }
        let params = self.params()?;
        let keys =
            TxCreationKeys::derive_new(&self.secp_ctx, point, &params.counterparty().pubkeys, &self.pubkeys);
        cache_put(&mut self.cache.0.lock().counterparty_keys, *point, keys, CACHED_COUNTERPARTY_KEYS);
        Ok(keys)
    }

    /// Checks that a holder commitment was built on our own point and keys.
    fn check_holder_keys(&self, commitment: &CommitmentTransaction) -> Result<(), SignError> {
        let expected = self.holder_tx_keys(commitment.commitment_number())?;
        if commitment.keys() != &expected {
            return Err(refused("holder commitment is not built on our per-commitment point and keys"));
        }
        Ok(())
    }

    fn sign_input(
        &self, tx: &Transaction, input_index: usize, script: &Script, amount_sat: u64,
        sighash_type: EcdsaSighashType, key: &SecretKey,
    ) -> Result<Signature, SignError> {
        sign_p2wsh_input(&self.secp_ctx, tx, input_index, script, amount_sat, sighash_type, key)
            .map_err(|_| SignError::InvalidInput)
    }

    fn sign_funding_input(&self, tx: &Transaction) -> Result<Signature, SignError> {
        let params = self.params()?;
        self.sign_input(
            tx,
            0,
            &params.funding_redeemscript(),
            params.channel_value_satoshis(),
            EcdsaSighashType::All,
            &self.secrets.funding_key,
        )
    }

    fn check_funding_input(&self, tx: &Transaction) -> Result<(), SignError> {
        let params = self.params()?;
        if tx.input.len() != 1 || tx.input[0].previous_output != params.funding_outpoint() {
            return Err(refused("transaction does not spend the funding output alone"));
        }
        Ok(())
    }
}

impl ChannelSigner for InMemorySigner {
    fn pubkeys(&self) -> &ChannelPublicKeys {
        &self.pubkeys
    }

    fn channel_keys_id(&self) -> [u8; 32] {
        self.channel_keys_id
    }

    fn provide_channel_parameters(&mut self, params: &ChannelTransactionParameters) -> Result<(), SignError> {
        if params.holder().pubkeys != self.pubkeys {
            return Err(refused("channel parameters carry other holder keys"));
        }
        if params.channel_value_satoshis() != self.channel_value_satoshis {
            return Err(refused("channel parameters carry another channel value"));
        }
        match &self.channel_parameters {
            Some(existing) if existing != params => Err(refused("channel parameters already provided")),
            _ => {
                self.channel_parameters = Some(params.clone());
                Ok(())
            }
        }
    }

    fn channel_parameters(&self) -> Option<&ChannelTransactionParameters> {
        self.channel_parameters.as_ref()
    }

    fn policy_state_bytes(&self) -> Vec<u8> {
        self.policy.encode()
    }

    fn restore_policy_state_bytes(&mut self, bytes: &[u8]) -> Result<(), SignError> {
        self.policy = crate::util::ser::decode_exact(bytes).map_err(|_| SignError::InvalidInput)?;
        Ok(())
    }

    fn get_per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, SignError> {
        if let Some(point) = cache_get(&self.cache.0.lock().points, commitment_number) {
            return Ok(point);
        }
        let secret = self.commitment_secret(commitment_number)?;
        let key = SecretKey::from_slice(&secret).map_err(|_| SignError::InvalidInput)?;
        let point = PublicKey::from_secret_key(&self.secp_ctx, &key);
        cache_put(&mut self.cache.0.lock().points, commitment_number, point, CACHED_POINTS);
        Ok(point)
    }

    fn get_holder_tx_keys(&self, commitment_number: u64) -> Result<TxCreationKeys, SignError> {
        self.holder_tx_keys(commitment_number)
    }

    fn get_counterparty_tx_keys(
        &self, per_commitment_point: &PublicKey,
    ) -> Result<TxCreationKeys, SignError> {
        self.counterparty_tx_keys(per_commitment_point)
    }

    fn release_commitment_secret(&mut self, commitment_number: u64) -> Result<[u8; 32], SignError> {
        let next = commitment_number.checked_add(1).ok_or(SignError::InvalidInput)?;
        match self.policy.highest_validated_holder_commitment {
            Some(validated) if validated >= next => {}
            _ => return Err(refused("the next holder commitment has not been validated")),
        }
        let secret = self.commitment_secret(commitment_number)?;
        self.policy.holder_revoked_below = self.policy.holder_revoked_below.max(next);
        Ok(secret)
    }

    fn validate_holder_commitment(
        &mut self, holder_tx: &HolderCommitmentTransaction,
    ) -> Result<(), SignError> {
        let commitment = holder_tx.commitment();
        let number = commitment.commitment_number();
        if self.holder_revoked(number) {
            return Err(refused("holder commitment already revoked"));
        }
        self.check_holder_keys(commitment)?;
        let params = self.params()?;
        if commitment.transaction().input.first().map(|i| i.previous_output)
            != Some(params.funding_outpoint())
        {
            return Err(refused("holder commitment does not spend the funding output"));
        }
        verify_holder_commitment_signatures(
            &self.secp_ctx,
            holder_tx,
            &params.funding_redeemscript(),
            params.channel_value_satoshis(),
            &params.counterparty().pubkeys.funding_pubkey,
        )
        .map_err(SignError::InvalidCounterpartySignature)?;
        let highest = &mut self.policy.highest_validated_holder_commitment;
        *highest = Some(highest.map_or(number, |h| h.max(number)));
        Ok(())
    }

    fn validate_counterparty_revocation(
        &mut self, commitment_number: u64, secret: &SecretKey,
    ) -> Result<(), SignError> {
        let index = commitment_secret_index(commitment_number).ok_or(SignError::InvalidInput)?;
        let bytes = secret.secret_bytes();
        if commitment_number < self.policy.counterparty_revoked_below {
            // A retransmitted revocation must carry the same secret.
            return match self.policy.counterparty_secrets.get_secret(index) {
                Some(known) if known == bytes => Ok(()),
                _ => Err(refused("revocation secret differs from the one received before")),
            };
        }
        match self.policy.counterparty_points.get(&commitment_number) {
            Some(point) if *point == PublicKey::from_secret_key(&self.secp_ctx, secret) => {}
            Some(_) => return Err(refused("revocation secret does not match the commitment's point")),
            None => return Err(refused("no counterparty commitment with that number was signed")),
        }
        self.policy
            .counterparty_secrets
            .provide_secret(index, bytes)
            .map_err(|_| refused("revocation secret does not derive the earlier ones or is out of order"))?;
        self.policy.counterparty_revoked_below = commitment_number + 1;
        self.policy.counterparty_points.retain(|number, _| *number > commitment_number);
        Ok(())
    }
}

impl EcdsaChannelSigner for InMemorySigner {
    fn sign_counterparty_commitment(
        &mut self, commitment_tx: &CommitmentTransaction,
    ) -> Result<(Signature, Vec<Signature>), SignError> {
        if commitment_tx.commitment_number() < self.policy.counterparty_revoked_below {
            return Err(refused("counterparty commitment already revoked"));
        }
        let keys = commitment_tx.keys();
        // Every key of the commitment must be the one derived from its
        // per-commitment point and both sides' base points (the counterparty
        // broadcasts, we countersign), as for holder commitments: a wrong
        // revocation key would leave us unable to punish a revoked state.
        if *keys != self.counterparty_tx_keys(&keys.per_commitment_point)? {
            return Err(refused(
                "counterparty commitment keys are not derived from its point and both base points",
            ));
        }
        let htlc_key = derive_private_key_with_basepoint(
            &keys.per_commitment_point,
            &self.secrets.htlc_base_key,
            &self.pubkeys.htlc_basepoint,
        );
        self.check_funding_input(commitment_tx.transaction())?;
        let commitment_sig = self.sign_funding_input(commitment_tx.transaction())?;
        let sighash_type = commitment_tx.format().countersignatory_htlc_sighash_type();
        let mut htlc_sigs = Vec::with_capacity(commitment_tx.nondust_htlc_count());
        for i in 0..commitment_tx.nondust_htlc_count() {
            let (htlc, script) = commitment_tx.nondust_htlc(i).ok_or(SignError::InvalidInput)?;
            let htlc_tx = commitment_tx.build_htlc_transaction(i).ok_or(SignError::InvalidInput)?;
            htlc_sigs.push(self.sign_input(
                &htlc_tx,
                0,
                script,
                htlc.amount_sat(),
                sighash_type,
                &htlc_key,
            )?);
        }
        match self.policy.counterparty_points.get(&commitment_tx.commitment_number()) {
            Some(point) if *point != keys.per_commitment_point => {
                return Err(refused("counterparty commitment number already signed with another point"));
            }
            _ => {}
        }
        self.policy.counterparty_points.insert(commitment_tx.commitment_number(), keys.per_commitment_point);
        Ok((commitment_sig, htlc_sigs))
    }

    fn sign_holder_commitment(
        &self, holder_tx: &HolderCommitmentTransaction,
    ) -> Result<Signature, SignError> {
        let commitment = holder_tx.commitment();
        if self.holder_revoked(commitment.commitment_number()) {
            return Err(refused("holder commitment already revoked"));
        }
        self.check_holder_keys(commitment)?;
        self.check_funding_input(commitment.transaction())?;
        self.sign_funding_input(commitment.transaction())
    }

    fn sign_holder_htlc_transaction(
        &self, htlc_tx: &Transaction, input_index: usize, commitment_number: u64,
        htlc: &HTLCOutputInCommitment,
    ) -> Result<Signature, SignError> {
        if self.holder_revoked(commitment_number) {
            return Err(refused("holder commitment already revoked"));
        }
        let keys = self.holder_tx_keys(commitment_number)?;
        let script = get_htlc_redeemscript(htlc, self.params()?.commitment_format(), &keys);
        let key = derive_private_key_with_basepoint(
            &keys.per_commitment_point,
            &self.secrets.htlc_base_key,
            &self.pubkeys.htlc_basepoint,
        );
        self.sign_input(htlc_tx, input_index, &script, htlc.amount_sat(), EcdsaSighashType::All, &key)
    }

    fn sign_holder_delayed_output(
        &self, sweep_tx: &Transaction, input_index: usize, amount_sat: u64, commitment_number: u64,
    ) -> Result<Signature, SignError> {
        let keys = self.holder_tx_keys(commitment_number)?;
        let delay = self.params()?.counterparty().selected_contest_delay;
        let script =
            get_revokeable_redeemscript(&keys.revocation_key, delay, &keys.broadcaster_delayed_payment_key);
        let key = derive_private_key_with_basepoint(
            &keys.per_commitment_point,
            &self.secrets.delayed_payment_base_key,
            &self.pubkeys.delayed_payment_basepoint,
        );
        self.sign_input(sweep_tx, input_index, &script, amount_sat, EcdsaSighashType::All, &key)
    }

    fn sign_justice_revoked_output(
        &self, justice_tx: &Transaction, input_index: usize, amount_sat: u64, per_commitment_key: &SecretKey,
    ) -> Result<Signature, SignError> {
        let point = PublicKey::from_secret_key(&self.secp_ctx, per_commitment_key);
        let keys = self.counterparty_tx_keys(&point)?;
        let delay = self.params()?.holder().selected_contest_delay;
        let script =
            get_revokeable_redeemscript(&keys.revocation_key, delay, &keys.broadcaster_delayed_payment_key);
        let key = derive_private_revocation_key(
            &self.secp_ctx,
            per_commitment_key,
            &self.secrets.revocation_base_key,
        );
        self.sign_input(justice_tx, input_index, &script, amount_sat, EcdsaSighashType::All, &key)
    }

    fn sign_justice_revoked_htlc(
        &self, justice_tx: &Transaction, input_index: usize, per_commitment_key: &SecretKey,
        htlc: &HTLCOutputInCommitment,
    ) -> Result<Signature, SignError> {
        let point = PublicKey::from_secret_key(&self.secp_ctx, per_commitment_key);
        let keys = self.counterparty_tx_keys(&point)?;
        let script = get_htlc_redeemscript(htlc, self.params()?.commitment_format(), &keys);
        let key = derive_private_revocation_key(
            &self.secp_ctx,
            per_commitment_key,
            &self.secrets.revocation_base_key,
        );
        self.sign_input(justice_tx, input_index, &script, htlc.amount_sat(), EcdsaSighashType::All, &key)
    }

    fn sign_counterparty_htlc_transaction(
        &self, claim_tx: &Transaction, input_index: usize, per_commitment_point: &PublicKey,
        htlc: &HTLCOutputInCommitment,
    ) -> Result<Signature, SignError> {
        let keys = self.counterparty_tx_keys(per_commitment_point)?;
        let script = get_htlc_redeemscript(htlc, self.params()?.commitment_format(), &keys);
        let key = derive_private_key_with_basepoint(
            per_commitment_point,
            &self.secrets.htlc_base_key,
            &self.pubkeys.htlc_basepoint,
        );
        self.sign_input(claim_tx, input_index, &script, htlc.amount_sat(), EcdsaSighashType::All, &key)
    }

    fn sign_counterparty_payment_input(
        &self, sweep_tx: &Transaction, input_index: usize, amount_sat: u64,
    ) -> Result<Signature, SignError> {
        match self.params()?.commitment_format() {
            CommitmentFormat::StaticRemoteKey => {
                let script_code = crate::ln::chan_utils::p2wpkh_script(&self.pubkeys.payment_point);
                let hash = SighashCache::new(sweep_tx)
                    .p2wpkh_signature_hash(
                        input_index,
                        &script_code,
                        Amount::from_sat(amount_sat),
                        EcdsaSighashType::All,
                    )
                    .map_err(|_| SignError::InvalidInput)?;
                Ok(self
                    .secp_ctx
                    .sign_ecdsa(&Message::from_digest(hash.to_byte_array()), &self.secrets.payment_key))
            }
            CommitmentFormat::AnchorsZeroFeeHtlcTx => {
                let script = get_to_countersignatory_with_anchors_redeemscript(&self.pubkeys.payment_point);
                self.sign_input(
                    sweep_tx,
                    input_index,
                    &script,
                    amount_sat,
                    EcdsaSighashType::All,
                    &self.secrets.payment_key,
                )
            }
        }
    }

    fn sign_closing_transaction(&self, closing_tx: &ClosingTransaction) -> Result<Signature, SignError> {
        self.check_funding_input(closing_tx.transaction())?;
        self.sign_funding_input(closing_tx.transaction())
    }

    fn sign_holder_anchor_input(
        &self, anchor_tx: &Transaction, input_index: usize,
    ) -> Result<Signature, SignError> {
        let script = get_anchor_redeemscript(&self.pubkeys.funding_pubkey);
        self.sign_input(
            anchor_tx,
            input_index,
            &script,
            ANCHOR_OUTPUT_VALUE_SATOSHI,
            EcdsaSighashType::All,
            &self.secrets.funding_key,
        )
    }

    fn sign_channel_announcement_with_funding_key(
        &self, signed_bytes: &[u8],
    ) -> Result<Signature, SignError> {
        let hash = sha256d::Hash::hash(signed_bytes);
        Ok(self.secp_ctx.sign_ecdsa(&Message::from_digest(hash.to_byte_array()), &self.secrets.funding_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ln::chan_utils::ChannelSideParameters;
    use crate::ln::features::ChannelTypeFeatures;
    use crate::sign::{KeysManager, SignerProvider};
    use bitcoin::hashes::Hash;

    fn signer_pair() -> (InMemorySigner, InMemorySigner) {
        let mut ours = KeysManager::new(&[1; 32], 0, 0).derive_channel_signer(100_000, [0xaa; 32]);
        let mut theirs = KeysManager::new(&[2; 32], 0, 0).derive_channel_signer(100_000, [0xbb; 32]);
        let a = ChannelSideParameters { pubkeys: *ours.pubkeys(), selected_contest_delay: 144 };
        let b = ChannelSideParameters { pubkeys: *theirs.pubkeys(), selected_contest_delay: 144 };
        let outpoint = bitcoin::OutPoint { txid: bitcoin::Txid::from_byte_array([7; 32]), vout: 0 };
        let mut channel_type = ChannelTypeFeatures::empty();
        channel_type.set_static_remote_key_required();
        let params = |x, y, outbound| {
            ChannelTransactionParameters::new(x, y, outbound, outpoint, 100_000, channel_type.clone())
                .unwrap()
        };
        ours.provide_channel_parameters(&params(a, b, true)).unwrap();
        theirs.provide_channel_parameters(&params(b, a, false)).unwrap();
        (ours, theirs)
    }

    /// What the signer derives without any cache.
    fn fresh_keys(signer: &InMemorySigner, n: u64) -> (PublicKey, TxCreationKeys) {
        let secret = signer.commitment_secret(n).unwrap();
        let point = PublicKey::from_secret_key(&signer.secp_ctx, &SecretKey::from_slice(&secret).unwrap());
        let counterparty = signer.params().unwrap().counterparty().pubkeys;
        (point, TxCreationKeys::derive_new(&signer.secp_ctx, &point, &signer.pubkeys, &counterparty))
    }

    #[test]
    fn cached_points_and_keys_are_what_deriving_gives() {
        let (ours, _) = signer_pair();
        // In and out of order, past the cache's size, and again (hits).
        let numbers = [0u64, 1, 2, 1, 7, 3, 4, 5, 6, 0, 5, 6, 1_000, 6];
        for _ in 0..2 {
            for n in numbers {
                let (point, keys) = fresh_keys(&ours, n);
                assert_eq!(ours.get_per_commitment_point(n).unwrap(), point, "point {n}");
                assert_eq!(ours.get_holder_tx_keys(n).unwrap(), keys, "keys {n}");
            }
        }
        assert!(ours.cache.0.lock().points.len() <= CACHED_POINTS);
        assert!(ours.cache.0.lock().holder_keys.len() <= CACHED_HOLDER_KEYS);
        // Counterparty commitment keys, by the counterparty's point: the
        // same as deriving them from its point and both sides' basepoints.
        let (_, theirs) = signer_pair();
        for _ in 0..2 {
            for n in numbers {
                let (their_point, expected) = fresh_keys(&theirs, n);
                assert_eq!(ours.get_counterparty_tx_keys(&their_point).unwrap(), expected, "their keys {n}");
            }
        }
        assert!(ours.cache.0.lock().counterparty_keys.len() <= CACHED_COUNTERPARTY_KEYS);
        // A clone keeps what was cached, and still agrees.
        let copy = ours.clone();
        assert_eq!(copy.get_holder_tx_keys(6).unwrap(), fresh_keys(&ours, 6).1);
        // No keys before the channel parameters; an out-of-range number is
        // refused, never cached.
        let bare = KeysManager::new(&[1; 32], 0, 0).derive_channel_signer(100_000, [0xaa; 32]);
        assert_eq!(bare.get_holder_tx_keys(0), Err(SignError::ChannelParametersMissing));
        assert_eq!(ours.get_per_commitment_point(1 << 48), Err(SignError::InvalidInput));
    }

    #[test]
    fn warm_cache_does_not_weaken_the_holder_key_check() {
        let (mut ours, mut theirs) = signer_pair();
        let spec = crate::ln::chan_utils::CommitmentSpec {
            commitment_number: 1,
            to_broadcaster_value_msat: 60_000_000,
            to_countersignatory_value_msat: 38_000_000,
            feerate_per_kw: 253,
            broadcaster_dust_limit_satoshis: 546,
            htlcs: Vec::new(),
        };
        let params = ours.params().unwrap().clone();
        // Warm the cache for commitment 1, then offer commitment 1 built on
        // the keys of commitment 2: refused, as with a cold cache.
        let _ = ours.get_holder_tx_keys(1).unwrap();
        let wrong_keys = ours.get_holder_tx_keys(2).unwrap();
        let forged =
            CommitmentTransaction::build(spec.clone(), wrong_keys, &params.as_holder_broadcastable());
        let (sig, htlc_sigs) = theirs.sign_counterparty_commitment(&forged).unwrap();
        let forged = HolderCommitmentTransaction::new(forged, sig, htlc_sigs).unwrap();
        assert!(matches!(ours.validate_holder_commitment(&forged), Err(SignError::Refused(_))));
        assert!(matches!(ours.sign_holder_commitment(&forged), Err(SignError::Refused(_))));
        // The same commitment on the right keys is accepted (signed by a
        // counterparty signer that has not seen the forged one).
        let right = CommitmentTransaction::build(
            spec,
            ours.get_holder_tx_keys(1).unwrap(),
            &params.as_holder_broadcastable(),
        );
        let (sig, htlc_sigs) = signer_pair().1.sign_counterparty_commitment(&right).unwrap();
        let right = HolderCommitmentTransaction::new(right, sig, htlc_sigs).unwrap();
        ours.validate_holder_commitment(&right).unwrap();
        // And the counterparty's commitment is still refused as ours to
        // countersign when we are its broadcaster.
        assert!(matches!(ours.sign_counterparty_commitment(right.commitment()), Err(SignError::Refused(_))));
    }
}
