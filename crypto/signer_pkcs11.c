/* signer_pkcs11 — keys inside a PKCS#11 token (TPM 2.0 via tpm2-pkcs11,
 * HSMs, secure elements, SoftHSM for tests), named by an RFC 7512 URI.
 *
 * The module named by module-path= is dlopen()ed; the token is the one
 * slot whose token/slot/library attributes match the URI (exactly one must);
 * the key is the CKO_PRIVATE_KEY with the URI's object= label and/or id=.
 * Its public half is read from the CKO_PUBLIC_KEY with the same CKA_ID (or
 * label), and proven to match by one signature at open time.
 *   ES256:   SHA-256 here (mbedTLS), CKM_ECDSA over the digest: raw r||s.
 *   Ed25519: CKM_EDDSA over the message itself (PureEdDSA).
 * The private key never leaves the token: keygen sets CKA_SENSITIVE and
 * clears CKA_EXTRACTABLE. */
#define CRYPTOKI_GNU 1
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <p11-kit/pkcs11.h>
#include <sodium.h>

#include "lib/log.h"
#include "crypto/es256.h"
#include "crypto/pkcs11_uri.h"
#include "crypto/signer.h"
#include "crypto/signer_int.h"

/* DER of the curve parameters (CKA_EC_PARAMS). */
static const uint8_t p256_params[] = {   /* OID 1.2.840.10045.3.1.7 */
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};
static const uint8_t ed25519_oid_params[] = {   /* OID 1.3.101.112 */
	0x06, 0x03, 0x2b, 0x65, 0x70,
};
static const uint8_t ed25519_name_params[] = {   /* PrintableString */
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9',
};

static const unsigned char ck_true = 1, ck_false = 0;

struct p11 {
	void *dl;
	struct ck_function_list *f;
	bool initialized;              /* counted in module_refs: C_Finalize at 0 */
	ck_slot_id_t slot;
	char token_label[33];          /* for messages */
	ck_session_handle_t session;
	bool have_session;
	ck_object_handle_t key;
	ck_mechanism_type_t mech;
	struct pkcs11_uri *uri;        /* kept to re-open a lost session */
	char *pin;                     /* wiped on close */
	int mac_state;                 /* state tags: 0 not looked for, 1 mac_key, -1 none */
	ck_object_handle_t mac_key;    /* CKO_SECRET_KEY beside the private key */
};

/* Signers sharing a module share its one C_Initialize: the last to close
 * finalizes it (dlopen hands back the same handle for the same module).
 * A module someone else in the process initialised is never finalized by
 * us. Single-threaded use, like the rest of the agent. */
static struct {
	void *dl;
	unsigned refs;
} module_refs[8];

static unsigned *module_ref(void *dl, bool create)
{
	for (size_t i = 0; i < ARRAY_SIZE(module_refs); i++)
		if (module_refs[i].dl == dl && module_refs[i].refs)
			return &module_refs[i].refs;
	if (!create)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(module_refs); i++)
		if (!module_refs[i].refs) {
			module_refs[i].dl = dl;
			return &module_refs[i].refs;
		}
	return NULL;
}

static const char *ckr_name(ck_rv_t rv)
{
#define R(x) { x, #x }
	static const struct { ck_rv_t rv; const char *name; } names[] = {
		R(CKR_OK), R(CKR_CANCEL), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID),
		R(CKR_GENERAL_ERROR), R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD),
		R(CKR_NO_EVENT), R(CKR_NEED_TO_CREATE_THREADS), R(CKR_CANT_LOCK),
		R(CKR_ATTRIBUTE_READ_ONLY), R(CKR_ATTRIBUTE_SENSITIVE),
		R(CKR_ATTRIBUTE_TYPE_INVALID), R(CKR_ATTRIBUTE_VALUE_INVALID),
		R(CKR_ACTION_PROHIBITED), R(CKR_DATA_INVALID), R(CKR_DATA_LEN_RANGE),
		R(CKR_DEVICE_ERROR), R(CKR_DEVICE_MEMORY), R(CKR_DEVICE_REMOVED),
		R(CKR_ENCRYPTED_DATA_INVALID), R(CKR_ENCRYPTED_DATA_LEN_RANGE),
		R(CKR_FUNCTION_CANCELED), R(CKR_FUNCTION_NOT_PARALLEL),
		R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID),
		R(CKR_KEY_SIZE_RANGE), R(CKR_KEY_TYPE_INCONSISTENT), R(CKR_KEY_NOT_NEEDED),
		R(CKR_KEY_CHANGED), R(CKR_KEY_NEEDED), R(CKR_KEY_INDIGESTIBLE),
		R(CKR_KEY_FUNCTION_NOT_PERMITTED), R(CKR_KEY_NOT_WRAPPABLE),
		R(CKR_KEY_UNEXTRACTABLE), R(CKR_MECHANISM_INVALID),
		R(CKR_MECHANISM_PARAM_INVALID), R(CKR_OBJECT_HANDLE_INVALID),
		R(CKR_OPERATION_ACTIVE), R(CKR_OPERATION_NOT_INITIALIZED),
		R(CKR_PIN_INCORRECT), R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE),
		R(CKR_PIN_EXPIRED), R(CKR_PIN_LOCKED), R(CKR_SESSION_CLOSED),
		R(CKR_SESSION_COUNT), R(CKR_SESSION_HANDLE_INVALID),
		R(CKR_SESSION_PARALLEL_NOT_SUPPORTED), R(CKR_SESSION_READ_ONLY),
		R(CKR_SESSION_EXISTS), R(CKR_SESSION_READ_ONLY_EXISTS),
		R(CKR_SESSION_READ_WRITE_SO_EXISTS), R(CKR_SIGNATURE_INVALID),
		R(CKR_SIGNATURE_LEN_RANGE), R(CKR_TEMPLATE_INCOMPLETE),
		R(CKR_TEMPLATE_INCONSISTENT), R(CKR_TOKEN_NOT_PRESENT),
		R(CKR_TOKEN_NOT_RECOGNIZED), R(CKR_TOKEN_WRITE_PROTECTED),
		R(CKR_UNWRAPPING_KEY_SIZE_RANGE), R(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
		R(CKR_USER_ALREADY_LOGGED_IN), R(CKR_USER_NOT_LOGGED_IN),
		R(CKR_USER_PIN_NOT_INITIALIZED), R(CKR_USER_TYPE_INVALID),
		R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), R(CKR_USER_TOO_MANY_TYPES),
		R(CKR_WRAPPED_KEY_INVALID), R(CKR_WRAPPED_KEY_LEN_RANGE),
		R(CKR_WRAPPING_KEY_HANDLE_INVALID), R(CKR_WRAPPING_KEY_SIZE_RANGE),
		R(CKR_WRAPPING_KEY_TYPE_INCONSISTENT), R(CKR_RANDOM_SEED_NOT_SUPPORTED),
		R(CKR_RANDOM_NO_RNG), R(CKR_DOMAIN_PARAMS_INVALID),
		R(CKR_CURVE_NOT_SUPPORTED), R(CKR_BUFFER_TOO_SMALL),
		R(CKR_SAVED_STATE_INVALID), R(CKR_INFORMATION_SENSITIVE),
		R(CKR_STATE_UNSAVEABLE), R(CKR_CRYPTOKI_NOT_INITIALIZED),
		R(CKR_CRYPTOKI_ALREADY_INITIALIZED), R(CKR_MUTEX_BAD),
		R(CKR_MUTEX_NOT_LOCKED), R(CKR_NEW_PIN_MODE), R(CKR_NEXT_OTP),
		R(CKR_EXCEEDED_MAX_ITERATIONS), R(CKR_FIPS_SELF_TEST_FAILED),
		R(CKR_LIBRARY_LOAD_FAILED), R(CKR_PIN_TOO_WEAK), R(CKR_PUBLIC_KEY_INVALID),
		R(CKR_FUNCTION_REJECTED),
	};
#undef R
	static char other[40];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].rv == rv)
			return names[i].name;
	snprintf(other, sizeof(other), "%s0x%08lx",
		 rv & CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED+" : "CKR_",
		 rv & CKR_VENDOR_DEFINED ? rv & ~CKR_VENDOR_DEFINED : rv);
	return other;
}

/* PKCS#11 text fields are blank-padded, not NUL-terminated. */
static size_t padded_len(const unsigned char *field, size_t size)
{
	while (size && (field[size - 1] == ' ' || field[size - 1] == '\0'))
		size--;
	return size;
}

static bool padded_eq(const char *want, const unsigned char *field, size_t size)
{
	size_t n = padded_len(field, size);
	return !want || (strlen(want) == n && !memcmp(want, field, n));
}

static void padded_str(char *out, size_t out_size, const unsigned char *field, size_t size)
{
	size_t n = padded_len(field, size);
	snprintf(out, out_size, "%.*s", (int)n, (const char *)field);
}

static int p11_load(struct p11 *p, const struct pkcs11_uri *u)
{
	ck_rv_t (*get_list)(struct ck_function_list **);
	struct ck_c_initialize_args args = { .flags = CKF_OS_LOCKING_OK };
	struct ck_info info;
	ck_rv_t rv;

	if (!u->module_path) {
		log_err("key: pkcs11 URI has no module-path=: name the token's "
			"PKCS#11 module (e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so)");
		return -EINVAL;
	}
	/* NODELETE: some modules register atexit handlers that must not
	 * outlive their code. */
	p->dl = dlopen(u->module_path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!p->dl) {
		log_err("key: module %s: %s", u->module_path, dlerror());
		return -ENOENT;
	}
	*(void **)&get_list = dlsym(p->dl, "C_GetFunctionList");
	if (!get_list) {
		log_err("key: module %s: no C_GetFunctionList: not a PKCS#11 module",
			u->module_path);
		return -ENOENT;
	}
	rv = get_list(&p->f);
	if (rv != CKR_OK || !p->f) {
		log_err("key: module %s: C_GetFunctionList: %s", u->module_path, ckr_name(rv));
		return -EIO;
	}
	unsigned *refs = module_ref(p->dl, false);
	if (refs) {
		++*refs;   /* another signer of ours initialised it */
		p->initialized = true;
	} else {
		rv = p->f->C_Initialize(&args);
		if (rv == CKR_OK) {
			refs = module_ref(p->dl, true);
			if (refs) {
				*refs = 1;
				p->initialized = true;
			}
			/* No slot left: leave the module initialised. */
		} else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			log_err("key: module %s: C_Initialize: %s", u->module_path,
				ckr_name(rv));
			return -EIO;
		}
	}
	if (u->library_manufacturer || u->library_description || u->has_library_version) {
		rv = p->f->C_GetInfo(&info);
		if (rv != CKR_OK) {
			log_err("key: module %s: C_GetInfo: %s", u->module_path, ckr_name(rv));
			return -EIO;
		}
		if (!padded_eq(u->library_manufacturer, info.manufacturer_id,
			       sizeof(info.manufacturer_id)) ||
		    !padded_eq(u->library_description, info.library_description,
			       sizeof(info.library_description)) ||
		    (u->has_library_version &&
		     (info.library_version.major != u->library_version_major ||
		      info.library_version.minor != u->library_version_minor))) {
			log_err("key: module %s does not match the URI's library-* attributes",
				u->module_path);
			return -ENODEV;
		}
	}
	return 0;
}

static int p11_find_slot(struct p11 *p, const struct pkcs11_uri *u)
{
	ck_slot_id_t *slots = NULL;
	unsigned long n = 0, matches = 0;
	char seen[256] = "";
	ck_rv_t rv;
	int ret = -EIO;

	rv = p->f->C_GetSlotList(1, NULL, &n);
	if (rv == CKR_OK && n) {
		slots = calloc(n, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		rv = p->f->C_GetSlotList(1, slots, &n);
	}
	if (rv != CKR_OK) {
		log_err("key: C_GetSlotList: %s", ckr_name(rv));
		goto out;
	}
	for (unsigned long i = 0; i < n; i++) {
		struct ck_token_info ti;
		struct ck_slot_info si;
		char label[33];

		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    p->f->C_GetSlotInfo(slots[i], &si) != CKR_OK)
			continue;
		padded_str(label, sizeof(label), ti.label, sizeof(ti.label));
		size_t sl = strlen(seen);
		snprintf(seen + sl, sizeof(seen) - sl, "%s'%s' (slot %lu)",
			 sl ? ", " : "", label, slots[i]);
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if ((u->has_slot_id && u->slot_id != slots[i]) ||
		    !padded_eq(u->token, ti.label, sizeof(ti.label)) ||
		    !padded_eq(u->manufacturer, ti.manufacturer_id, sizeof(ti.manufacturer_id)) ||
		    !padded_eq(u->serial, ti.serial_number, sizeof(ti.serial_number)) ||
		    !padded_eq(u->model, ti.model, sizeof(ti.model)) ||
		    !padded_eq(u->slot_description, si.slot_description,
			       sizeof(si.slot_description)) ||
		    !padded_eq(u->slot_manufacturer, si.manufacturer_id,
			       sizeof(si.manufacturer_id)))
			continue;
		if (!matches++) {
			p->slot = slots[i];
			snprintf(p->token_label, sizeof(p->token_label), "%s", label);
		}
	}
	if (matches == 0) {
		log_err("key: no initialised token matches the URI; tokens present: %s",
			*seen ? seen : "none");
		ret = -ENODEV;
		goto out;
	}
	if (matches > 1) {
		log_err("key: %lu tokens match the URI (%s); add token=, serial= or slot-id=",
			matches, seen);
		ret = -ENODEV;
		goto out;
	}
	ret = 0;
out:
	free(slots);
	return ret;
}

static int p11_login(struct p11 *p)
{
	struct ck_token_info ti;
	ck_rv_t rv;

	rv = p->f->C_GetTokenInfo(p->slot, &ti);
	if (rv != CKR_OK) {
		log_err("key: token '%s': C_GetTokenInfo: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	if (!(ti.flags & CKF_LOGIN_REQUIRED) && !p->pin)
		return 0;
	if (!p->pin && !(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
		log_err("key: token '%s' needs the user PIN: add pin-source=file:PATH "
			"to the URI's query", p->token_label);
		return -EACCES;
	}
	rv = p->f->C_Login(p->session, CKU_USER, (unsigned char *)p->pin,
			   p->pin ? strlen(p->pin) : 0);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		log_err("key: token '%s': login: %s", p->token_label, ckr_name(rv));
		return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? -EACCES : -EIO;
	}
	return 0;
}

static int p11_open_session(struct p11 *p, bool rw)
{
	ck_rv_t rv;

	rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0),
				 NULL, NULL, &p->session);
	if (rv != CKR_OK) {
		log_err("key: token '%s': C_OpenSession: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	p->have_session = true;
	return p11_login(p);
}

/* Find objects of class cls matching label and/or id (either may be NULL /
 * empty). Up to max handles in out; *n = how many matched (up to max+1, so
 * that callers can tell one from several). */
static int p11_find(struct p11 *p, ck_object_class_t cls, const char *label,
		    const uint8_t *id, size_t id_len, ck_object_handle_t *out,
		    unsigned long max, unsigned long *n)
{
	struct ck_attribute t[3];
	ck_object_handle_t found[8];
	unsigned long nt = 0, got = 0;
	ck_rv_t rv;

	t[nt++] = (struct ck_attribute){ CKA_CLASS, &cls, sizeof(cls) };
	if (label)
		t[nt++] = (struct ck_attribute){ CKA_LABEL, (void *)label, strlen(label) };
	if (id && id_len)
		t[nt++] = (struct ck_attribute){ CKA_ID, (void *)id, id_len };
	rv = p->f->C_FindObjectsInit(p->session, t, nt);
	if (rv != CKR_OK) {
		log_err("key: token '%s': C_FindObjectsInit: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	rv = p->f->C_FindObjects(p->session, found, max + 1 < ARRAY_SIZE(found) ?
				 max + 1 : ARRAY_SIZE(found), &got);
	p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK) {
		log_err("key: token '%s': C_FindObjects: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	for (unsigned long i = 0; i < got && i < max; i++)
		out[i] = found[i];
	*n = got;
	return 0;
}

/* Read one attribute into buf (size bytes); *len = its length. */
static ck_rv_t p11_attr(struct p11 *p, ck_object_handle_t obj, ck_attribute_type_t type,
			void *buf, size_t size, size_t *len)
{
	struct ck_attribute a = { type, buf, size };
	ck_rv_t rv = p->f->C_GetAttributeValue(p->session, obj, &a, 1);

	if (rv == CKR_OK && a.value_len == CK_UNAVAILABLE_INFORMATION)
		rv = CKR_ATTRIBUTE_TYPE_INVALID;
	if (rv == CKR_OK)
		*len = a.value_len;
	return rv;
}

/* CKA_EC_POINT is meant to be a DER OCTET STRING around the point; some
 * tokens hand back the bare point. Accept both, for the expected length. */
static int unwrap_point(const uint8_t *v, size_t len, size_t want, uint8_t *out)
{
	if (len == want + 2 && v[0] == 0x04 && v[1] == want) {
		memcpy(out, v + 2, want);
		return 0;
	}
	if (len == want) {
		memcpy(out, v, want);
		return 0;
	}
	return -EINVAL;
}

static int p11_params_alg(const uint8_t *params, size_t len)
{
	if (len == sizeof(p256_params) && !memcmp(params, p256_params, len))
		return COSE_ALG_ES256;
	if ((len == sizeof(ed25519_oid_params) && !memcmp(params, ed25519_oid_params, len)) ||
	    (len == sizeof(ed25519_name_params) && !memcmp(params, ed25519_name_params, len)))
		return COSE_ALG_EDDSA;
	return 0;
}

/* Locate the private key and its public half; fill s->alg/pub. */
static int p11_find_key(struct signer *s, struct p11 *p)
{
	const struct pkcs11_uri *u = p->uri;
	ck_object_handle_t pub_obj;
	ck_key_type_t kt = 0;
	uint8_t id[256], params[64], point[128];
	size_t id_len = 0, params_len = 0, point_len = 0, len = 0;
	unsigned long n = 0;
	const char *name = u->object ? u->object : "(by id)";
	ck_rv_t rv;
	int ret;

	ret = p11_find(p, CKO_PRIVATE_KEY, u->object, u->id, u->id_len, &p->key, 1, &n);
	if (ret < 0)
		return ret;
	if (n == 0) {
		log_err("key: token '%s': no private key %s (is the PIN right? "
			"private objects are only visible after login)", p->token_label, name);
		return -ENOENT;
	}
	if (n > 1) {
		log_err("key: token '%s': several private keys match %s; add id=",
			p->token_label, name);
		return -ENOENT;
	}
	rv = p11_attr(p, p->key, CKA_KEY_TYPE, &kt, sizeof(kt), &len);
	if (rv != CKR_OK) {
		log_err("key: token '%s': CKA_KEY_TYPE: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	if (kt == CKK_EC) {
		s->alg = COSE_ALG_ES256;
		p->mech = CKM_ECDSA;
	} else if (kt == CKK_EC_EDWARDS) {
		s->alg = COSE_ALG_EDDSA;
		p->mech = CKM_EDDSA;
	} else {
		log_err("key: token '%s': key %s has key type 0x%lx; expected EC "
			"(P-256) or EC_EDWARDS (Ed25519)", p->token_label, name, kt);
		return -EINVAL;
	}
	rv = p11_attr(p, p->key, CKA_ID, id, sizeof(id), &id_len);
	if (rv != CKR_OK)
		id_len = 0;

	/* The public key object: same id, else same label. */
	ret = p11_find(p, CKO_PUBLIC_KEY, id_len ? NULL : u->object, id, id_len,
		       &pub_obj, 1, &n);
	if (ret < 0)
		return ret;
	if (n != 1) {
		log_err("key: token '%s': %s public key object beside private key %s",
			p->token_label, n ? "more than one" : "no", name);
		return -ENOENT;
	}
	rv = p11_attr(p, pub_obj, CKA_EC_PARAMS, params, sizeof(params), &params_len);
	if (rv != CKR_OK) {
		log_err("key: token '%s': CKA_EC_PARAMS: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	if (p11_params_alg(params, params_len) != s->alg) {
		log_err("key: token '%s': key %s is on another curve; expected %s",
			p->token_label, name, s->alg == COSE_ALG_ES256 ? "P-256" : "Ed25519");
		return -EINVAL;
	}
	rv = p11_attr(p, pub_obj, CKA_EC_POINT, point, sizeof(point), &point_len);
	if (rv != CKR_OK) {
		log_err("key: token '%s': CKA_EC_POINT: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	s->pub_len = s->alg == COSE_ALG_ES256 ? 65 : 32;
	if (unwrap_point(point, point_len, s->pub_len, s->pub) < 0 ||
	    (s->alg == COSE_ALG_ES256 && s->pub[0] != 0x04)) {
		log_err("key: token '%s': CKA_EC_POINT of %s: unexpected encoding "
			"(%zu bytes)", p->token_label, name, point_len);
		return -EINVAL;
	}
	return 0;
}

static int p11_sign_raw(struct p11 *p, int alg, const uint8_t *msg, size_t len,
			uint8_t sig[SIGNER_SIG_LEN], ck_rv_t *rv_out)
{
	struct ck_mechanism mech = { p->mech, NULL, 0 };
	unsigned long sig_len = SIGNER_SIG_LEN;
	uint8_t h[32];
	ck_rv_t rv;

	if (alg == COSE_ALG_ES256) {
		crypto_hash_sha256(h, msg, len);
		msg = h;
		len = sizeof(h);
	}
	rv = p->f->C_SignInit(p->session, &mech, p->key);
	if (rv == CKR_OK)
		rv = p->f->C_Sign(p->session, (unsigned char *)msg, len, sig, &sig_len);
	*rv_out = rv;
	if (rv != CKR_OK) {
		log_err("key: token '%s': sign: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	if (sig_len != SIGNER_SIG_LEN) {
		log_err("key: token '%s': signature of %lu bytes; expected 64",
			p->token_label, sig_len);
		return -EIO;
	}
	/* Tokens return either of ECDSA's two forms; records carry the
	 * low-S one only (crypto/es256.h). */
	if (alg == COSE_ALG_ES256 && es256_normalize_s(sig)) {
		log_err("key: token '%s': the token's ES256 signature has s = 0 or s >= n",
			p->token_label);
		return -EIO;
	}
	return 0;
}

static void p11_close_session(struct p11 *p)
{
	if (p->have_session)
		p->f->C_CloseSession(p->session);
	p->have_session = false;
}

static void p11_free(struct p11 *p)
{
	if (!p)
		return;
	if (p->f) {
		p11_close_session(p);
		unsigned *refs = p->initialized ? module_ref(p->dl, false) : NULL;
		if (refs && --*refs == 0)
			p->f->C_Finalize(NULL);
	}
	if (p->dl)
		dlclose(p->dl);
	pkcs11_uri_free(p->uri);
	pkcs11_uri_pin_free(p->pin);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

/* Parse the URI, load the module, pick the token. pin overrides the URI's. */
static int p11_setup(struct p11 **out, const char *uri, const char *pin)
{
	struct p11 *p = calloc(1, sizeof(*p));
	char err[256];
	int ret = -ENOMEM;

	*out = NULL;
	if (!p)
		goto out;
	ret = pkcs11_uri_parse(&p->uri, uri, err, sizeof(err));
	if (ret < 0) {
		log_err("key: pkcs11 URI: %s", err);
		goto out;
	}
	if (pin) {
		p->pin = strdup(pin);
		if (!p->pin) {
			ret = -ENOMEM;
			goto out;
		}
	} else {
		ret = pkcs11_uri_pin(p->uri, &p->pin, err, sizeof(err));
		if (ret < 0) {
			log_err("key: pkcs11 URI: %s", err);
			goto out;
		}
	}
	if (p->uri->module_name && !p->uri->module_path) {
		log_err("key: pkcs11 URI: module-name= alone is not supported; "
			"give module-path=/path/to/module.so");
		ret = -EINVAL;
		goto out;
	}
	ret = p11_load(p, p->uri);
	if (ret < 0)
		goto out;
	ret = p11_find_slot(p, p->uri);
	if (ret < 0)
		goto out;
	*out = p;
	p = NULL;
out:
	p11_free(p);
	return ret;
}

static int pkcs11_open(struct signer *s, const char *uri, const char *pin)
{
	static const uint8_t probe[] = "eco2 key self-check";
	uint8_t sig[SIGNER_SIG_LEN];
	struct p11 *p = NULL;
	ck_rv_t rv;
	int ret;

	ret = p11_setup(&p, uri, pin);
	if (ret < 0)
		return ret;
	s->priv = p;
	if (p->uri->type != PKCS11_URI_TYPE_ANY && p->uri->type != PKCS11_URI_TYPE_PRIVATE) {
		log_err("key: pkcs11 URI names a non-private object: signing needs "
			"type=private (or no type=)");
		return -EINVAL;
	}
	if (!p->uri->object && !p->uri->id) {
		log_err("key: pkcs11 URI names no key: add object=LABEL or id=%%XX..");
		return -EINVAL;
	}
	ret = p11_open_session(p, false);
	if (ret < 0)
		return ret;
	ret = p11_find_key(s, p);
	if (ret < 0)
		return ret;
	/* One signature proves the public object is this key's half: records
	 * signed under a wrong kid would all fail verification later. */
	ret = p11_sign_raw(p, s->alg, probe, sizeof(probe), sig, &rv);
	if (ret < 0)
		return ret;
	if (signer_check_sig(s->alg, s->pub, s->pub_len, probe, sizeof(probe), sig)) {
		log_err("key: token '%s': the public key object does not match the "
			"private key %s", p->token_label, p->uri->object ? p->uri->object : "");
		return -EBADMSG;
	}
	return 0;
}

static int pkcs11_sign(struct signer *s, const uint8_t *msg, size_t len,
		       uint8_t sig[SIGNER_SIG_LEN])
{
	struct p11 *p = s->priv;
	ck_rv_t rv = CKR_OK;
	int ret;

	ret = p11_sign_raw(p, s->alg, msg, len, sig, &rv);
	if (ret == 0)
		return 0;
	/* A resource manager restart or a token reset loses the session:
	 * open a new one and find the key again, once. */
	if (rv != CKR_SESSION_HANDLE_INVALID && rv != CKR_SESSION_CLOSED &&
	    rv != CKR_USER_NOT_LOGGED_IN && rv != CKR_KEY_HANDLE_INVALID &&
	    rv != CKR_OBJECT_HANDLE_INVALID && rv != CKR_DEVICE_REMOVED &&
	    rv != CKR_TOKEN_NOT_PRESENT)
		return ret;
	log_warn("key: token '%s': re-opening the session", p->token_label);
	p11_close_session(p);
	uint8_t pub[SIGNER_PUBKEY_MAX];
	size_t pub_len = s->pub_len;
	int alg = s->alg;
	memcpy(pub, s->pub, pub_len);
	ret = p11_open_session(p, false);
	if (ret == 0)
		ret = p11_find_key(s, p);
	if (ret == 0 && (s->alg != alg || s->pub_len != pub_len ||
			 memcmp(s->pub, pub, pub_len))) {
		log_err("key: token '%s': the key changed under us", p->token_label);
		ret = -EBADMSG;
	}
	/* Whatever happened, the signer keeps its original identity. */
	s->alg = alg;
	s->pub_len = pub_len;
	memcpy(s->pub, pub, pub_len);
	if (ret < 0)
		return ret;
	return p11_sign_raw(p, s->alg, msg, len, sig, &rv);
}

static void pkcs11_close(struct signer *s)
{
	p11_free(s->priv);
	s->priv = NULL;
}

static int pkcs11_key_attrs(struct signer *s, struct signer_key_attrs *out)
{
	struct p11 *p = s->priv;
	unsigned char v[4] = { 0 };
	struct ck_attribute t[4] = {
		{ CKA_SENSITIVE, &v[0], 1 },
		{ CKA_EXTRACTABLE, &v[1], 1 },
		{ CKA_ALWAYS_SENSITIVE, &v[2], 1 },
		{ CKA_NEVER_EXTRACTABLE, &v[3], 1 },
	};
	ck_rv_t rv = p->f->C_GetAttributeValue(p->session, p->key, t, ARRAY_SIZE(t));

	if (rv != CKR_OK) {
		log_err("key: token '%s': C_GetAttributeValue: %s", p->token_label,
			ckr_name(rv));
		return -EIO;
	}
	out->sensitive = v[0];
	out->extractable = v[1];
	out->always_sensitive = v[2];
	out->never_extractable = v[3];
	return 0;
}

static bool mech_supported(struct p11 *p, ck_mechanism_type_t m, ck_flags_t need)
{
	struct ck_mechanism_info mi;

	return p->f->C_GetMechanismInfo(p->slot, m, &mi) == CKR_OK && (mi.flags & need);
}

/* ---- the state-tag MAC (signer.h: signer_tag) -------------------------------
 * A CKO_SECRET_KEY with the private key's CKA_ID (or, without an id, its
 * label), usable with CKM_SHA256_HMAC. keygen makes one where the token can
 * (SoftHSM2: CKM_GENERIC_SECRET_KEY_GEN); a token without one tags with the
 * signing key instead (signer.c). */

static int p11_find_mac_key(struct p11 *p)
{
	uint8_t id[256];
	size_t id_len = 0;
	unsigned long n = 0;
	ck_object_handle_t k;
	int ret;

	if (p11_attr(p, p->key, CKA_ID, id, sizeof(id), &id_len) != CKR_OK)
		id_len = 0;
	ret = p11_find(p, CKO_SECRET_KEY, id_len ? NULL : p->uri->object, id, id_len, &k, 1, &n);
	if (ret < 0)
		return ret;
	if (n == 1 && mech_supported(p, CKM_SHA256_HMAC, CKF_SIGN)) {
		p->mac_key = k;
		p->mac_state = 1;
	} else {
		if (n > 1)
			log_warn("key: token '%s': several secret keys beside the signing key; "
				 "state is tagged with signatures instead", p->token_label);
		p->mac_state = -1;
	}
	return 0;
}

static ck_rv_t p11_mac_raw(struct p11 *p, const uint8_t *msg, size_t len, uint8_t out[32])
{
	struct ck_mechanism mech = { CKM_SHA256_HMAC, NULL, 0 };
	unsigned long out_len = 32;
	ck_rv_t rv;

	rv = p->f->C_SignInit(p->session, &mech, p->mac_key);
	if (rv == CKR_OK)
		rv = p->f->C_Sign(p->session, (unsigned char *)msg, len, out, &out_len);
	if (rv == CKR_OK && out_len != 32)
		rv = CKR_GENERAL_ERROR;
	return rv;
}

/* The errors after which a new session may succeed (as in pkcs11_sign). */
static bool session_lost(ck_rv_t rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_KEY_HANDLE_INVALID ||
	       rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_DEVICE_REMOVED ||
	       rv == CKR_TOKEN_NOT_PRESENT;
}

static int pkcs11_mac(struct signer *s, const uint8_t *msg, size_t len, uint8_t out[32])
{
	struct p11 *p = s->priv;
	ck_rv_t rv = CKR_OK;
	int ret;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt) {
			/* The session was lost: a new one, the keys looked
			 * up again, once. */
			log_warn("key: token '%s': re-opening the session", p->token_label);
			p11_close_session(p);
			p->mac_state = 0;
			ret = p11_open_session(p, false);
			if (!ret)
				ret = p11_find(p, CKO_PRIVATE_KEY, p->uri->object, p->uri->id,
					       p->uri->id_len, &p->key, 1, &(unsigned long){ 0 });
			if (ret < 0)
				return ret;
		}
		if (p->mac_state == 0) {
			ret = p11_find_mac_key(p);
			if (ret < 0)
				return ret;
		}
		if (p->mac_state < 0)
			return -ENOTSUP;
		rv = p11_mac_raw(p, msg, len, out);
		if (rv == CKR_OK || !session_lost(rv))
			break;
	}
	if (rv != CKR_OK) {
		log_err("key: token '%s': HMAC: %s", p->token_label, ckr_name(rv));
		return -EIO;
	}
	return 0;
}

/* Beside a new key pair: a 256-bit HMAC key with the same label and id,
 * sensitive and never extractable. A token that cannot is not an error:
 * its state tags are signatures. */
static void p11_mac_keygen(struct p11 *p, const char *label, const uint8_t *id, size_t id_len)
{
	struct ck_mechanism mech = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	ck_object_class_t cls = CKO_SECRET_KEY;
	ck_key_type_t kt = CKK_GENERIC_SECRET;
	unsigned long value_len = 32;
	ck_object_handle_t k;
	struct ck_attribute t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &value_len, sizeof(value_len) },
		{ CKA_TOKEN, (void *)&ck_true, 1 },
		{ CKA_PRIVATE, (void *)&ck_true, 1 },
		{ CKA_SENSITIVE, (void *)&ck_true, 1 },
		{ CKA_EXTRACTABLE, (void *)&ck_false, 1 },
		{ CKA_SIGN, (void *)&ck_true, 1 },
		{ CKA_VERIFY, (void *)&ck_true, 1 },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, id_len },
	};
	ck_rv_t rv;

	if (!mech_supported(p, CKM_GENERIC_SECRET_KEY_GEN, CKF_GENERATE) ||
	    !mech_supported(p, CKM_SHA256_HMAC, CKF_SIGN)) {
		log_notice("key: token '%s' cannot make an HMAC key (no CKM_GENERIC_SECRET_KEY_GEN "
			   "or CKM_SHA256_HMAC): saved state will be tagged with signatures",
			   p->token_label);
		return;
	}
	rv = p->f->C_GenerateKey(p->session, &mech, t, ARRAY_SIZE(t), &k);
	if (rv != CKR_OK)
		log_notice("key: token '%s': no HMAC key (C_GenerateKey: %s): saved state will "
			   "be tagged with signatures", p->token_label, ckr_name(rv));
	else
		log_info("key: token '%s': generated the HMAC key '%s' for state tags",
			 p->token_label, label);
}

static int pkcs11_keygen(const char *uri, const char *pin, int alg)
{
	struct p11 *p = NULL;
	uint8_t id_buf[8];
	const uint8_t *id;
	size_t id_len;
	ck_object_handle_t pub, priv;
	unsigned long n = 0;
	ck_rv_t rv;
	int ret;

	ret = p11_setup(&p, uri, pin);
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	if (!p->uri->object) {
		log_err("key: keygen needs the new key's label: add object=LABEL to the URI");
		goto out;
	}
	if (p->uri->type != PKCS11_URI_TYPE_ANY && p->uri->type != PKCS11_URI_TYPE_PRIVATE) {
		log_err("key: keygen: type= must be private (or absent)");
		goto out;
	}
	ret = p11_open_session(p, true);
	if (ret < 0)
		goto out;
	ret = p11_find(p, CKO_PRIVATE_KEY, p->uri->object, NULL, 0, &priv, 1, &n);
	if (ret == 0 && !n && p->uri->id)
		ret = p11_find(p, CKO_PRIVATE_KEY, NULL, p->uri->id, p->uri->id_len,
			       &priv, 1, &n);
	if (ret < 0)
		goto out;
	if (n) {
		log_err("key: token '%s' already holds a private key labelled '%s' or "
			"with that id; refusing to create another", p->token_label,
			p->uri->object);
		ret = -EEXIST;
		goto out;
	}
	if (p->uri->id) {
		id = p->uri->id;
		id_len = p->uri->id_len;
	} else {
		randombytes_buf(id_buf, sizeof(id_buf));
		id = id_buf;
		id_len = sizeof(id_buf);
	}

	ck_mechanism_type_t mtype = alg == COSE_ALG_ES256 ?
		CKM_EC_KEY_PAIR_GEN : CKM_EC_EDWARDS_KEY_PAIR_GEN;
	ck_mechanism_type_t smech = alg == COSE_ALG_ES256 ? CKM_ECDSA : CKM_EDDSA;
	if (!mech_supported(p, mtype, CKF_GENERATE_KEY_PAIR) ||
	    !mech_supported(p, smech, CKF_SIGN)) {
		log_err("key: token '%s' cannot generate and sign with %s keys "
			"(no %s)", p->token_label, signer_alg_name(alg),
			alg == COSE_ALG_ES256 ? "CKM_EC_KEY_PAIR_GEN/CKM_ECDSA" :
			"CKM_EC_EDWARDS_KEY_PAIR_GEN/CKM_EDDSA");
		ret = -ENOTSUP;
		goto out;
	}
	struct ck_mechanism mech = { mtype, NULL, 0 };
	const char *label = p->uri->object;
	/* Ed25519's curve may be named by OID (what SoftHSM 2.6 takes) or
	 * by the PKCS#11 3.0 printable name; try both. */
	const uint8_t *params[2] = { p256_params, NULL };
	size_t params_len[2] = { sizeof(p256_params), 0 };
	if (alg == COSE_ALG_EDDSA) {
		params[0] = ed25519_oid_params;
		params_len[0] = sizeof(ed25519_oid_params);
		params[1] = ed25519_name_params;
		params_len[1] = sizeof(ed25519_name_params);
	}
	rv = CKR_GENERAL_ERROR;
	for (int i = 0; i < 2 && params[i]; i++) {
		struct ck_attribute pub_t[] = {
			{ CKA_TOKEN, (void *)&ck_true, 1 },
			{ CKA_PRIVATE, (void *)&ck_false, 1 },
			{ CKA_VERIFY, (void *)&ck_true, 1 },
			{ CKA_EC_PARAMS, (void *)params[i], params_len[i] },
			{ CKA_LABEL, (void *)label, strlen(label) },
			{ CKA_ID, (void *)id, id_len },
		};
		struct ck_attribute priv_t[] = {
			{ CKA_TOKEN, (void *)&ck_true, 1 },
			{ CKA_PRIVATE, (void *)&ck_true, 1 },
			{ CKA_SENSITIVE, (void *)&ck_true, 1 },
			{ CKA_EXTRACTABLE, (void *)&ck_false, 1 },
			{ CKA_SIGN, (void *)&ck_true, 1 },
			{ CKA_LABEL, (void *)label, strlen(label) },
			{ CKA_ID, (void *)id, id_len },
		};
		rv = p->f->C_GenerateKeyPair(p->session, &mech, pub_t, ARRAY_SIZE(pub_t),
					     priv_t, ARRAY_SIZE(priv_t), &pub, &priv);
		if (rv != CKR_ATTRIBUTE_VALUE_INVALID && rv != CKR_DOMAIN_PARAMS_INVALID &&
		    rv != CKR_CURVE_NOT_SUPPORTED && rv != CKR_TEMPLATE_INCONSISTENT)
			break;
	}
	if (rv != CKR_OK) {
		log_err("key: token '%s': C_GenerateKeyPair (%s): %s", p->token_label,
			signer_alg_name(alg), ckr_name(rv));
		ret = -EIO;
		goto out;
	}
	log_info("key: token '%s': generated %s key '%s'", p->token_label,
		 signer_alg_name(alg), label);
	p11_mac_keygen(p, label, id, id_len);
	ret = 0;
out:
	p11_free(p);
	return ret;
}

const struct signer_ops signer_pkcs11_ops = {
	.scheme = "pkcs11:",
	.open = pkcs11_open,
	.sign = pkcs11_sign,
	.close = pkcs11_close,
	.keygen = pkcs11_keygen,
	.key_attrs = pkcs11_key_attrs,
	.mac = pkcs11_mac,
	.mac_scheme = "hmac-sha256 (secret key in the token)",
};
