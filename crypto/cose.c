/* cose — records as tagged COSE_Sign1, encoded deterministically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "lib/log.h"
#include "crypto/cbor.h"
#include "crypto/cose.h"

/* Payload keys (docs/record-format.md). */
enum {
	K_VERSION, K_KID, K_SEQ, K_PREV, K_TYPE, K_START, K_END, K_ODO_START,
	K_ODO_END, K_DISTANCE, K_DISCHARGE, K_REGEN, K_CO2, K_METHOD,
	K_BASELINE, K_GRID, K_CHARGE_EFF, K_TD_LOSS, K_FLAGS, K_VIN,
	K_CHARGED, K_ODO_STEP, K_SOFTWARE, K_PROFILE, K_COUNT
};
#define K_LAST_V1 K_CHARGED

static const char *const key_names[K_COUNT] = {
	"version", "kid", "seq", "prev", "type", "start_s", "end_s",
	"odo_start_m", "odo_end_m", "distance_m", "discharge_wh", "regen_wh",
	"co2_g", "method", "baseline_mg_per_km", "grid_mg_per_kwh",
	"charge_eff_permille", "td_loss_permille", "flags", "vin", "charged_wh",
	"odo_step_m", "software", "profile_sha256",
};

/* Keys 0..18 are in every record; 21..23 in every version 2 record. */
#define REQUIRED_KEYS ((1u << (K_FLAGS + 1)) - 1)
#define REQUIRED_KEYS_V2 (REQUIRED_KEYS | 1u << K_ODO_STEP | 1u << K_SOFTWARE | 1u << K_PROFILE)

static __thread char why_buf[192];

static int text_ok(const char *s, size_t cap, size_t *len)
{
	*len = strnlen(s, cap);
	return *len < cap && cbor_utf8_valid((const uint8_t *)s, *len);
}

int cose_payload_encode(const struct eco2_record *r, uint8_t *buf, size_t cap,
			size_t *len)
{
	struct cbor_wr w;
	size_t mlen, vlen = 0, slen = 0;
	bool charge = r->type == ECO2_REC_CHARGE;
	bool v2 = r->version >= 2;
	int ret = -EINVAL;

	if (r->version < ECO2_RECORD_VERSION_MIN || r->version > ECO2_RECORD_VERSION) {
		log_err("record: version %u; versions %u to %u are defined", r->version,
			ECO2_RECORD_VERSION_MIN, ECO2_RECORD_VERSION);
		goto out;
	}
	if (r->type != ECO2_REC_TRIP && !charge) {
		log_err("record seq %llu: type %u is neither trip (1) nor charging session (2)",
			(unsigned long long)r->seq, r->type);
		goto out;
	}
	if (!r->seq) {
		log_err("record: seq 0; sequences start at 1");
		goto out;
	}
	if (!charge && r->charged_wh) {
		log_err("record seq %llu: a trip carries no charged energy (key 20)",
			(unsigned long long)r->seq);
		goto out;
	}
	if (!text_ok(r->method, sizeof(r->method), &mlen) ||
	    (r->has_vin && !text_ok(r->vin, sizeof(r->vin), &vlen)) ||
	    (v2 && !text_ok(r->software, sizeof(r->software), &slen))) {
		log_err("record seq %llu: method, VIN or software is not a terminated UTF-8 string",
			(unsigned long long)r->seq);
		goto out;
	}

	cbor_wr_init(&w, buf, cap);
	cbor_put_map(&w, 19 + (r->has_vin ? 1 : 0) + (charge ? 1 : 0) + (v2 ? 3 : 0));
	cbor_put_uint(&w, K_VERSION);
	cbor_put_uint(&w, r->version);
	cbor_put_uint(&w, K_KID);
	cbor_put_bstr(&w, r->kid, sizeof(r->kid));
	cbor_put_uint(&w, K_SEQ);
	cbor_put_uint(&w, r->seq);
	cbor_put_uint(&w, K_PREV);
	cbor_put_bstr(&w, r->prev, sizeof(r->prev));
	cbor_put_uint(&w, K_TYPE);
	cbor_put_uint(&w, r->type);
	cbor_put_uint(&w, K_START);
	cbor_put_int(&w, r->start_s);
	cbor_put_uint(&w, K_END);
	cbor_put_int(&w, r->end_s);
	cbor_put_uint(&w, K_ODO_START);
	cbor_put_int(&w, r->odo_start_m);
	cbor_put_uint(&w, K_ODO_END);
	cbor_put_int(&w, r->odo_end_m);
	cbor_put_uint(&w, K_DISTANCE);
	cbor_put_int(&w, r->distance_m);
	cbor_put_uint(&w, K_DISCHARGE);
	cbor_put_int(&w, r->discharge_wh);
	cbor_put_uint(&w, K_REGEN);
	cbor_put_int(&w, r->regen_wh);
	cbor_put_uint(&w, K_CO2);
	cbor_put_int(&w, r->co2_g);
	cbor_put_uint(&w, K_METHOD);
	cbor_put_tstr(&w, r->method, mlen);
	cbor_put_uint(&w, K_BASELINE);
	cbor_put_int(&w, r->baseline_mg_per_km);
	cbor_put_uint(&w, K_GRID);
	cbor_put_int(&w, r->grid_mg_per_kwh);
	cbor_put_uint(&w, K_CHARGE_EFF);
	cbor_put_int(&w, r->charge_eff_permille);
	cbor_put_uint(&w, K_TD_LOSS);
	cbor_put_int(&w, r->td_loss_permille);
	cbor_put_uint(&w, K_FLAGS);
	cbor_put_uint(&w, r->flags);
	if (r->has_vin) {
		cbor_put_uint(&w, K_VIN);
		cbor_put_tstr(&w, r->vin, vlen);
	}
	if (charge) {
		cbor_put_uint(&w, K_CHARGED);
		cbor_put_int(&w, r->charged_wh);
	}
	if (v2) {
		cbor_put_uint(&w, K_ODO_STEP);
		cbor_put_int(&w, r->odo_step_m);
		cbor_put_uint(&w, K_SOFTWARE);
		cbor_put_tstr(&w, r->software, slen);
		cbor_put_uint(&w, K_PROFILE);
		cbor_put_bstr(&w, r->profile_sha256, sizeof(r->profile_sha256));
	}
	ret = cbor_wr_status(&w);
	if (!ret)
		*len = w.len;
out:
	return ret;
}

/* protected = {1: alg, 4: kid} */
static size_t protected_encode(int alg, const uint8_t kid[8], uint8_t *buf, size_t cap)
{
	struct cbor_wr w;

	cbor_wr_init(&w, buf, cap);
	cbor_put_map(&w, 2);
	cbor_put_uint(&w, 1);
	cbor_put_int(&w, alg);
	cbor_put_uint(&w, 4);
	cbor_put_bstr(&w, kid, 8);
	return cbor_wr_status(&w) ? 0 : w.len;
}

size_t cose_sig_structure(const uint8_t *prot, size_t prot_len,
			  const uint8_t *payload, size_t payload_len,
			  uint8_t *buf, size_t cap)
{
	static const char ctx[] = "Signature1";
	struct cbor_wr w;

	cbor_wr_init(&w, buf, cap);
	cbor_put_array(&w, 4);
	cbor_put_tstr(&w, ctx, sizeof(ctx) - 1);
	cbor_put_bstr(&w, prot, prot_len);
	cbor_put_bstr(&w, NULL, 0);           /* external_aad: none */
	cbor_put_bstr(&w, payload, payload_len);
	return cbor_wr_status(&w) ? 0 : w.len;
}

/* The full tagged COSE_Sign1 from its parts. */
static size_t sign1_encode(const uint8_t *prot, size_t prot_len,
			   const uint8_t *payload, size_t payload_len,
			   const uint8_t sig[SIGNER_SIG_LEN], uint8_t *buf, size_t cap)
{
	struct cbor_wr w;

	cbor_wr_init(&w, buf, cap);
	cbor_put_tag(&w, COSE_TAG_SIGN1);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, prot, prot_len);
	cbor_put_map(&w, 0);
	cbor_put_bstr(&w, payload, payload_len);
	cbor_put_bstr(&w, sig, SIGNER_SIG_LEN);
	return cbor_wr_status(&w) ? 0 : w.len;
}

int cose_record_encode_with(const struct eco2_record *r, int alg,
			    const uint8_t kid[8], cose_sign_fn *sign, void *ctx,
			    uint8_t **out, size_t *out_len)
{
	uint8_t payload[COSE_RECORD_MAX], prot[32], tbs[COSE_SIG_STRUCT_MAX];
	uint8_t sig[SIGNER_SIG_LEN], rec[COSE_RECORD_MAX];
	size_t payload_len, prot_len, tbs_len, rec_len;
	int ret = -EINVAL;

	*out = NULL;
	*out_len = 0;
	if (alg != COSE_ALG_ES256 && alg != COSE_ALG_EDDSA) {
		log_err("record: COSE alg %d is neither ES256 (-7) nor EdDSA (-8)", alg);
		goto out;
	}
	if (memcmp(r->kid, kid, sizeof(r->kid))) {
		log_err("record seq %llu: payload kid is not the signing key's kid",
			(unsigned long long)r->seq);
		goto out;
	}
	ret = cose_payload_encode(r, payload, sizeof(payload), &payload_len);
	if (ret)
		goto out;
	prot_len = protected_encode(alg, kid, prot, sizeof(prot));
	tbs_len = cose_sig_structure(prot, prot_len, payload, payload_len,
				     tbs, sizeof(tbs));
	ret = -ENOSPC;
	if (!prot_len || !tbs_len)
		goto out;
	ret = sign(ctx, tbs, tbs_len, sig);
	if (ret)
		goto out;
	ret = -ENOSPC;
	rec_len = sign1_encode(prot, prot_len, payload, payload_len, sig,
			       rec, sizeof(rec));
	if (!rec_len)
		goto out;
	ret = -ENOMEM;
	*out = malloc(rec_len);
	if (!*out)
		goto out;
	memcpy(*out, rec, rec_len);
	*out_len = rec_len;
	ret = 0;
out:
	return ret;
}

/* ---- decoding ------------------------------------------------------------ */

static const char *reason(size_t off, const char *where, const char *why)
{
	snprintf(why_buf, sizeof(why_buf), "byte %zu: %s%s%s", off,
		 where ? where : "", where ? ": " : "", why);
	return why_buf;
}

static const char *key_reason(size_t off, unsigned key, const char *why)
{
	snprintf(why_buf, sizeof(why_buf), "byte %zu: payload key %u (%s): %s",
		 off, key, key < K_COUNT ? key_names[key] : "?", why);
	return why_buf;
}

static int get_i64(struct cbor_rd *rd, int64_t *v)
{
	return cbor_get_int(rd, v);
}

static int get_u32(struct cbor_rd *rd, uint32_t *v)
{
	uint64_t u;
	int ret;

	ret = cbor_get_uint(rd, &u);
	if (ret)
		return ret;
	if (u > UINT32_MAX)
		return cbor_fail(rd, "value out of range");
	*v = (uint32_t)u;
	return 0;
}

static int get_fixed(struct cbor_rd *rd, uint8_t *dst, size_t n, const char *why)
{
	const uint8_t *p;
	size_t len;
	int ret;

	ret = cbor_get_bstr(rd, &p, &len);
	if (ret)
		return ret;
	if (len != n)
		return cbor_fail(rd, why);
	memcpy(dst, p, n);
	return 0;
}

static int get_text(struct cbor_rd *rd, char *dst, size_t cap, const char *why)
{
	const char *p;
	size_t len;
	int ret;

	ret = cbor_get_tstr(rd, &p, &len);
	if (ret)
		return ret;
	if (len >= cap)
		return cbor_fail(rd, why);
	if (memchr(p, 0, len))
		return cbor_fail(rd, "NUL character in text");
	memcpy(dst, p, len);
	dst[len] = 0;
	return 0;
}

static int payload_value(struct cbor_rd *rd, unsigned key, struct eco2_record *r)
{
	switch (key) {
	case K_VERSION:
		return get_u32(rd, &r->version);
	case K_KID:
		return get_fixed(rd, r->kid, sizeof(r->kid), "kid must be 8 bytes");
	case K_SEQ:
		return cbor_get_uint(rd, &r->seq);
	case K_PREV:
		return get_fixed(rd, r->prev, sizeof(r->prev), "prev must be 32 bytes");
	case K_TYPE:
		return get_u32(rd, &r->type);
	case K_START:
		return get_i64(rd, &r->start_s);
	case K_END:
		return get_i64(rd, &r->end_s);
	case K_ODO_START:
		return get_i64(rd, &r->odo_start_m);
	case K_ODO_END:
		return get_i64(rd, &r->odo_end_m);
	case K_DISTANCE:
		return get_i64(rd, &r->distance_m);
	case K_DISCHARGE:
		return get_i64(rd, &r->discharge_wh);
	case K_REGEN:
		return get_i64(rd, &r->regen_wh);
	case K_CO2:
		return get_i64(rd, &r->co2_g);
	case K_METHOD:
		return get_text(rd, r->method, sizeof(r->method),
				"methodology id longer than 31 bytes");
	case K_BASELINE:
		return get_i64(rd, &r->baseline_mg_per_km);
	case K_GRID:
		return get_i64(rd, &r->grid_mg_per_kwh);
	case K_CHARGE_EFF:
		return get_i64(rd, &r->charge_eff_permille);
	case K_TD_LOSS:
		return get_i64(rd, &r->td_loss_permille);
	case K_FLAGS:
		return cbor_get_uint(rd, &r->flags);
	case K_VIN:
		r->has_vin = true;
		return get_text(rd, r->vin, sizeof(r->vin), "VIN longer than 17 bytes");
	case K_CHARGED:
		return get_i64(rd, &r->charged_wh);
	case K_ODO_STEP:
		return get_i64(rd, &r->odo_step_m);
	case K_SOFTWARE:
		return get_text(rd, r->software, sizeof(r->software),
				"software id longer than 47 bytes");
	case K_PROFILE:
		return get_fixed(rd, r->profile_sha256, sizeof(r->profile_sha256),
				 "profile_sha256 must be 32 bytes");
	default:
		return cbor_fail(rd, "unknown key (reserved for later versions)");
	}
}

/* The payload map; base = its offset in the record, for reasons. */
static int payload_decode(const uint8_t *p, size_t len, size_t base,
			  struct eco2_record *r, const char **why)
{
	struct cbor_rd rd;
	uint64_t n, key;
	uint32_t seen = 0;
	int last = -1;
	size_t at;

	memset(r, 0, sizeof(*r));
	cbor_rd_init(&rd, p, len);
	if (cbor_get_map(&rd, &n))
		goto bad;
	if (n < 19 || n > 24) {
		*why = reason(base, "payload", "map of 19 to 24 entries expected");
		return -EBADMSG;
	}
	for (uint64_t i = 0; i < n; i++) {
		at = rd.off;
		if (cbor_get_uint(&rd, &key)) {
			*why = reason(base + rd.why_off, "payload", "unsigned integer key expected");
			return -EBADMSG;
		}
		/* Key 0 (the version) comes first: later keys are read
		 * knowing which version's they must be. */
		if (key >= K_COUNT || (key > K_LAST_V1 && r->version < 2)) {
			*why = key_reason(base + at, (unsigned)key,
					  "unknown key (reserved for later versions)");
			return -EBADMSG;
		}
		if ((int)key <= last) {
			*why = key_reason(base + at, (unsigned)key,
					  "duplicate or out of order (keys must ascend)");
			return -EBADMSG;
		}
		last = (int)key;
		seen |= 1u << key;
		if (payload_value(&rd, (unsigned)key, r)) {
			*why = key_reason(base + rd.why_off, (unsigned)key, rd.why);
			return -EBADMSG;
		}
	}
	if (!cbor_rd_done(&rd)) {
		*why = reason(base + rd.off, "payload", "trailing bytes after the map");
		return -EBADMSG;
	}
	if (!(seen & (1u << K_VERSION))) {
		*why = key_reason(base, K_VERSION, "missing");
		return -EBADMSG;
	}
	if (r->version < ECO2_RECORD_VERSION_MIN || r->version > ECO2_RECORD_VERSION) {
		*why = key_reason(base, K_VERSION, "format version not supported (only 1 and 2)");
		return -EBADMSG;
	}
	{
		uint32_t need = r->version >= 2 ? REQUIRED_KEYS_V2 : REQUIRED_KEYS;

		for (unsigned k = 0; k < K_COUNT; k++)
			if ((need & (1u << k)) && !(seen & (1u << k))) {
				*why = key_reason(base, k, "missing");
				return -EBADMSG;
			}
	}
	if (r->type != ECO2_REC_TRIP && r->type != ECO2_REC_CHARGE) {
		*why = key_reason(base, K_TYPE, "neither trip (1) nor charging session (2)");
		return -EBADMSG;
	}
	if (r->type == ECO2_REC_TRIP && (seen & (1u << K_CHARGED))) {
		*why = key_reason(base, K_CHARGED, "charged energy in a trip record");
		return -EBADMSG;
	}
	if (r->type == ECO2_REC_CHARGE && !(seen & (1u << K_CHARGED))) {
		*why = key_reason(base, K_CHARGED, "missing in a charging session");
		return -EBADMSG;
	}
	if (!r->seq) {
		*why = key_reason(base, K_SEQ, "0 (sequences start at 1)");
		return -EBADMSG;
	}
	return 0;
bad:
	*why = reason(base + rd.why_off, "payload", rd.why);
	return -EBADMSG;
}

/* The protected header: exactly {1: -7|-8, 4: bstr(8)}. 0, or -EBADMSG
 * with pr->why set. */
static int protected_decode(struct cbor_rd *pr, struct cose_sign1 *sp)
{
	const uint8_t *kid;
	int64_t key, alg;
	uint64_t n;
	size_t len;

	if (cbor_get_map(pr, &n))
		return -EBADMSG;
	if (n != 2)
		return cbor_fail(pr, "map of 2 entries {1: alg, 4: kid} expected");
	if (cbor_get_int(pr, &key))
		return -EBADMSG;
	if (key != 1)
		return cbor_fail(pr, "key 1 (alg) expected");
	if (cbor_get_int(pr, &alg))
		return -EBADMSG;
	if (alg != COSE_ALG_ES256 && alg != COSE_ALG_EDDSA)
		return cbor_fail(pr, "alg must be -7 (ES256) or -8 (EdDSA)");
	if (cbor_get_int(pr, &key))
		return -EBADMSG;
	if (key != 4)
		return cbor_fail(pr, "key 4 (kid) expected");
	if (cbor_get_bstr(pr, &kid, &len))
		return -EBADMSG;
	if (len != 8)
		return cbor_fail(pr, "kid must be 8 bytes");
	if (!cbor_rd_done(pr))
		return cbor_fail(pr, "trailing bytes");
	sp->alg = (int)alg;
	memcpy(sp->kid, kid, 8);
	return 0;
}

int cose_record_decode(const uint8_t *buf, size_t len, struct eco2_record *out,
		       struct cose_sign1 *parts, const char **why)
{
	struct eco2_record rec;
	struct cose_sign1 sp;
	struct cbor_rd rd, pr;
	uint8_t again[COSE_RECORD_MAX], payload2[COSE_RECORD_MAX];
	size_t n, again_len, payload2_len, payload_off;
	uint64_t u;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (len > COSE_RECORD_MAX) {
		snprintf(why_buf, sizeof(why_buf),
			 "%zu bytes: longer than any record (at most %d)", len,
			 COSE_RECORD_MAX);
		*why = why_buf;
		return -EBADMSG;
	}
	cbor_rd_init(&rd, buf, len);
	if (cbor_get_tag(&rd, &u))
		goto bad;
	if (u != COSE_TAG_SIGN1) {
		*why = reason(0, NULL, "tag 18 (COSE_Sign1) expected");
		return -EBADMSG;
	}
	if (cbor_get_array(&rd, &u))
		goto bad;
	if (u != 4) {
		*why = reason(1, NULL, "COSE_Sign1 must be an array of 4");
		return -EBADMSG;
	}
	if (cbor_get_bstr(&rd, &sp.prot, &sp.prot_len))
		goto bad;
	if (cbor_get_map(&rd, &u))
		goto bad;
	if (u != 0) {
		*why = reason(rd.off - 1, NULL, "unprotected header must be empty");
		return -EBADMSG;
	}
	if (cbor_get_bstr(&rd, &sp.payload, &sp.payload_len))
		goto bad;
	payload_off = (size_t)(sp.payload - buf);
	if (cbor_get_bstr(&rd, &sp.sig, &n))
		goto bad;
	if (n != SIGNER_SIG_LEN) {
		*why = reason((size_t)(sp.sig - buf), NULL, "signature must be 64 bytes");
		return -EBADMSG;
	}
	if (!cbor_rd_done(&rd)) {
		*why = reason(rd.off, NULL, "trailing bytes after the record");
		return -EBADMSG;
	}

	cbor_rd_init(&pr, sp.prot, sp.prot_len);
	if (protected_decode(&pr, &sp)) {
		*why = reason((size_t)(sp.prot - buf) + pr.why_off, "protected header", pr.why);
		return -EBADMSG;
	}

	if (payload_decode(sp.payload, sp.payload_len, payload_off, &rec, why))
		return -EBADMSG;
	if (memcmp(rec.kid, sp.kid, 8)) {
		*why = key_reason(payload_off, K_KID, "differs from the protected header's kid");
		return -EBADMSG;
	}

	/* The bytes must be the one encoding of what they decode to. The
	 * strict reader already refuses every other form it knows; this
	 * catches anything it does not. */
	if (cose_payload_encode(&rec, payload2, sizeof(payload2), &payload2_len) ||
	    payload2_len != sp.payload_len ||
	    memcmp(payload2, sp.payload, payload2_len)) {
		*why = reason(payload_off, "payload", "not the canonical encoding of its contents");
		return -EBADMSG;
	}
	again_len = sign1_encode(sp.prot, sp.prot_len, sp.payload, sp.payload_len,
				 sp.sig, again, sizeof(again));
	if (again_len != len || memcmp(again, buf, len)) {
		*why = reason(0, NULL, "not the canonical encoding of its contents");
		return -EBADMSG;
	}
	if (out)
		*out = rec;
	if (parts)
		*parts = sp;
	return 0;
bad:
	*why = reason(rd.why_off, NULL, rd.why);
	return -EBADMSG;
}

void cose_record_sha256(const uint8_t *buf, size_t len, uint8_t out[32])
{
	(void)mbedtls_sha256_ret(buf, len, out, 0);
}

void cose_profile_sha256(const void *profile, size_t profile_len, const void *dbc,
			 size_t dbc_len, uint8_t out[32])
{
	mbedtls_sha256_context c;
	uint8_t n[8];

	mbedtls_sha256_init(&c);
	(void)mbedtls_sha256_starts_ret(&c, 0);
	for (int part = 0; part < 2; part++) {
		const void *p = part ? dbc : profile;
		uint64_t len = part ? dbc_len : profile_len;

		for (int i = 0; i < 8; i++)
			n[i] = (uint8_t)(len >> (56 - 8 * i));
		(void)mbedtls_sha256_update_ret(&c, n, sizeof(n));
		(void)mbedtls_sha256_update_ret(&c, p, (size_t)len);
	}
	(void)mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
}

void cose_kid(const uint8_t *pubkey, size_t len, uint8_t kid[8])
{
	uint8_t h[32];

	cose_record_sha256(pubkey, len, h);
	memcpy(kid, h, 8);
}

static const char *const flag_names[] = {
	"odo_rollback", "odo_jump", "odo_stuck", "data_gap", "clock_jump",
	"frames_dropped", "bus_error", "resumed", "odo_wrap", "no_energy",
	"no_odometer", "ended_early", "state_break", "clock_stuck",
};

const char *record_flag_name(unsigned bit)
{
	return bit < ARRAY_SIZE(flag_names) ? flag_names[bit] : NULL;
}
