/* tls.c — the server's TLS 1.3 context and peer identity. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "server.h"

static void
ssl_err(char *err, size_t cap, const char *what, const char *file)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	if (snprintf(err, cap, "%s %s: %s", what, file, e ? buf : "failed") < 0)
		err[0] = '\0';
	ERR_clear_error();
}

SSL_CTX *
srv_tls_ctx(const char *ca, const char *cert, const char *key, char *err, size_t errcap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_err(err, errcap, "TLS", "context");
		return NULL;
	}
	/* TLS 1.3 only; mutual authentication against the deployment CA. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		ssl_err(err, errcap, "TLS", "version");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errcap, "cannot load certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errcap, "cannot load private key", key);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_err(err, errcap, "cannot load CA", ca);
		goto fail;
	}
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static int
name_entry(X509_NAME *n, int nid, char *out, size_t cap)
{
	int i = X509_NAME_get_index_by_NID(n, nid, -1);
	if (i < 0)
		return -1;
	/* Exactly one such entry. */
	if (X509_NAME_get_index_by_NID(n, nid, i) >= 0)
		return -1;
	ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, d);
	if (len < 0)
		return -1;
	if ((size_t)len >= cap || memchr(utf8, 0, (size_t)len) != NULL) {
		OPENSSL_free(utf8);
		return -1;
	}
	memcpy(out, utf8, (size_t)len);
	out[len] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

int
srv_tls_peer(SSL *ssl, srv_role *role, char *cn, size_t cncap, char *err, size_t errcap)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	char ou[64];
	int ret = -1;

	if (peer == NULL) {
		snprintf(err, errcap, "no client certificate");
		return -1;
	}
	long vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		snprintf(err, errcap, "client certificate: %s", X509_verify_cert_error_string(vr));
		goto out;
	}
	X509_NAME *subj = X509_get_subject_name(peer);
	if (name_entry(subj, NID_commonName, cn, cncap) != 0 || cn[0] == '\0') {
		snprintf(err, errcap, "client certificate has no single common name");
		goto out;
	}
	if (name_entry(subj, NID_organizationalUnitName, ou, sizeof(ou)) != 0) {
		snprintf(err, errcap, "client certificate of \"%s\" has no single OU (role)", cn);
		goto out;
	}
	*role = srv_role_from_name(ou);
	if (*role == ROLE_NONE) {
		snprintf(err, errcap, "client certificate of \"%s\" has unknown role \"%s\"", cn, ou);
		goto out;
	}
	ret = 0;
out:
	X509_free(peer);
	return ret;
}

const char *
srv_role_name(srv_role r)
{
	switch (r) {
	case ROLE_NODE: return "node";
	case ROLE_SUPERVISOR: return "supervisor";
	case ROLE_DISCIPLINE: return "discipline";
	case ROLE_COURT: return "court";
	case ROLE_WITNESS: return "witness";
	case ROLE_ADMIN: return "admin";
	default: return "none";
	}
}

srv_role
srv_role_from_name(const char *s)
{
	static const srv_role all[] = { ROLE_NODE, ROLE_SUPERVISOR, ROLE_DISCIPLINE, ROLE_COURT,
		ROLE_WITNESS, ROLE_ADMIN };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, srv_role_name(all[i])) == 0)
			return all[i];
	return ROLE_NONE;
}
