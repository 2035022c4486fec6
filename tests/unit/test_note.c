/*
 * test_note.c — signed notes (Go sumdb/note's documented example and
 * note_test.go vectors, reproduced byte for byte), checkpoints,
 * cosignature/v1, tlog-proof (the C2SP example layout) and strict base64,
 * with their negative cases.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../check.h"
#include "evc.h"
#include "keys.h"
#include "merkle.h"
#include "note.h"

#define EM "\xe2\x80\x94"

/* golang.org/x/mod/sumdb/note: package documentation and note_test.go. */
static const char go_text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char peter_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_skey[] = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char peter_sig[] =
    EM " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_vkey[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char enoch_sig[] =
    EM " EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/* transparency-dev/formats note/note_cosigv1_test.go. */
static const char cosig_vector[] =
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
static const char remora_vkey[] = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

static note nt; /* big: keep it off the stack */

/* Concatenate up to 4 strings into a malloc'd buffer; *len gets the length. */
static char *
cat(size_t *len, const char *a, const char *b, const char *c, const char *d)
{
	const char *parts[4] = { a, b, c, d };
	size_t n = 0, o = 0;
	char *s;

	for (int k = 0; k < 4; k++)
		n += parts[k] ? strlen(parts[k]) : 0;
	s = malloc(n + 1);
	REQUIRE(s != NULL);
	for (int k = 0; k < 4; k++) {
		if (parts[k] == NULL)
			continue;
		memcpy(s + o, parts[k], strlen(parts[k]));
		o += strlen(parts[k]);
	}
	s[o] = '\0';
	*len = o;
	return s;
}

static int
open_str(const char *msg, const evc_vkey *keys, size_t nkeys)
{
	return note_open(msg, strlen(msg), keys, nkeys, &nt);
}

/* ---- base64 ------------------------------------------------------------ */

static void
test_base64(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const bad[] = {
		"Zg", "Zg=", "Zg===", "Z===", "====", "=Zg=", "Zg==Zg==", "Zh==", "Zm9=",
		"Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "Zm9v====", "Zm\x80v", "Zm9vYmFy=",
	};
	char buf[64];
	uint8_t out[64];

	for (size_t k = 0; k < 7; k++) {
		size_t n = strlen(plain[k]);
		CHECK_EQ(b64_encoded_len(n), strlen(enc[k]));
		CHECK_EQ(b64_encode((const uint8_t *)plain[k], n, buf, sizeof buf), (int)strlen(enc[k]));
		CHECK_STR(buf, enc[k]);
		CHECK_EQ(b64_decode(enc[k], strlen(enc[k]), out, sizeof out), (int)n);
		CHECK_MEM(out, plain[k], n);
	}
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		CHECK_EQ(b64_decode(bad[k], strlen(bad[k]), out, sizeof out), EVC_EINVAL);
	/* Sizes. */
	CHECK_EQ(b64_decode("Zm9vYmFy", 8, out, 5), EVC_ETOOLARGE);
	CHECK_EQ(b64_decode("Zm9vYmFy", 8, out, 6), 6);
	CHECK_EQ(b64_decode("Zm9vYmE=", 8, out, 5), 5);
	CHECK_EQ(b64_encode((const uint8_t *)"foobar", 6, buf, 8), EVC_ETOOLARGE); /* no room for NUL */
	CHECK_EQ(b64_encode((const uint8_t *)"foobar", 6, buf, 9), 8);
	/* Every byte value survives a round trip. */
	{
		uint8_t all[256], back[256];
		char e[400];
		for (int i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		for (size_t n = 0; n <= 256; n += 1 + n / 8) {
			int el = b64_encode(all + (256 - n), n, e, sizeof e);
			CHECK_EQ(el, (int)b64_encoded_len(n));
			CHECK_EQ(b64_decode(e, (size_t)el, back, sizeof back), (int)n);
			CHECK_MEM(back, all + (256 - n), n);
		}
	}
}

/* ---- signed notes -------------------------------------------------------- */

static void
test_go_example(void)
{
	evc_vkey peter, enoch, keys[3];
	evc_skey psk, esk, zsk;
	evc_vkey zvk;
	const evc_skey *signers[2];
	uint8_t zero[32] = { 0 };
	char *msg, *signed_msg;
	size_t len, slen;

	REQUIRE(keys_vkey_parse(peter_vkey, strlen(peter_vkey), &peter) == 0);
	REQUIRE(keys_vkey_parse(enoch_vkey, strlen(enoch_vkey), &enoch) == 0);
	REQUIRE(keys_skey_parse(peter_skey, strlen(peter_skey), &psk) == 0);
	CHECK_EQ(peter.id, 0xc74f20a3u);
	CHECK_EQ(psk.id, 0xc74f20a3u);
	CHECK_EQ(peter.type, EVC_KEY_ED25519);

	/* Open the documented note. */
	msg = cat(&len, go_text, "\n", peter_sig, NULL);
	CHECK_EQ(note_open(msg, len, &peter, 1, &nt), 1);
	CHECK_EQ(nt.text_len, strlen(go_text));
	CHECK(nt.text == msg);
	CHECK_EQ(nt.nsigs, 1);
	CHECK_STR(nt.sigs[0].name, "PeterNeumann");
	CHECK_EQ(nt.sigs[0].id, 0xc74f20a3u);
	CHECK_EQ(nt.sigs[0].sig_len, 64);
	CHECK(nt.sigs[0].key == &peter);

	/* Sign: byte for byte the same (Ed25519 is deterministic). */
	signers[0] = &psk;
	CHECK_OK(note_sign(go_text, strlen(go_text), signers, 1, &signed_msg, &slen));
	CHECK_EQ(slen, len);
	CHECK_STR(signed_msg, msg);
	free(signed_msg);

	/* The signature line alone. */
	{
		char line[256];
		CHECK_EQ(note_sig_line(nt.sigs[0].name, nt.sigs[0].id, nt.sigs[0].sig, 64, line,
		    sizeof line), (int)strlen(peter_sig));
		CHECK_STR(line, peter_sig);
		CHECK_EQ(note_sig_line("PeterNeumann", 0xc74f20a3u, nt.sigs[0].sig, 64, line,
		    strlen(peter_sig)), EVC_ETOOLARGE);
		CHECK_EQ(note_sig_line("Peter Neumann", 1, nt.sigs[0].sig, 64, line, sizeof line),
		    EVC_EINVAL);
		CHECK_EQ(note_sig_line("a+b", 1, nt.sigs[0].sig, 64, line, sizeof line), EVC_EINVAL);
		CHECK_EQ(note_sig_line("", 1, nt.sigs[0].sig, 64, line, sizeof line), EVC_EINVAL);
	}
	free(msg);

	/* note_test.go TestOpen: one verified, one unknown. */
	msg = cat(&len, go_text, "\n", peter_sig, enoch_sig);
	CHECK_EQ(note_open(msg, len, &peter, 1, &nt), 1);
	CHECK_EQ(nt.nsigs, 2);
	CHECK(nt.sigs[0].key == &peter);
	CHECK(nt.sigs[1].key == NULL);
	CHECK_STR(nt.sigs[1].name, "EnochRoot");
	CHECK_EQ(nt.sigs[1].id, 0xaf0cfe78u);
	/* Both verified. */
	keys[0] = peter;
	keys[1] = enoch;
	CHECK_EQ(note_open(msg, len, keys, 2, &nt), 2);
	CHECK(nt.sigs[0].key == &keys[0] && nt.sigs[1].key == &keys[1]);
	/* Both unknown. */
	CHECK_EQ(note_open(msg, len, NULL, 0, &nt), EVC_EUNKNOWNKEY);
	/* Keys in another order; a duplicate of the same key is harmless. */
	keys[0] = enoch;
	keys[1] = peter;
	keys[2] = enoch;
	CHECK_EQ(note_open(msg, len, keys, 3, &nt), 2);
	/* Same (name, id), other key: ambiguous. */
	keys[2].pub[0] ^= 1;
	CHECK_EQ(note_open(msg, len, keys, 3, &nt), EVC_EINVAL);
	free(msg);

	/* Unknown only: wrong name, wrong id, same key under another type. */
	msg = cat(&len, go_text, "\n", peter_sig, NULL);
	keys[0] = peter;
	keys[0].id ^= 1;
	CHECK_EQ(note_open(msg, len, keys, 1, &nt), EVC_EUNKNOWNKEY);
	keys[0] = peter;
	strcpy(keys[0].name, "PeterNeuman");
	CHECK_EQ(note_open(msg, len, keys, 1, &nt), EVC_EUNKNOWNKEY);
	CHECK_EQ(note_open(msg, len, &enoch, 1, &nt), EVC_EUNKNOWNKEY);
	/* A known key whose signature fails: forged (Go's "ABCD" insertion). */
	{
		char forged[512];
		size_t pl = strlen(peter_sig);
		memcpy(forged, go_text, strlen(go_text));
		len = strlen(go_text);
		forged[len++] = '\n';
		memcpy(forged + len, peter_sig, 60);
		memcpy(forged + len + 60, "ABCD", 4);
		memcpy(forged + len + 64, peter_sig + 60, pl - 60);
		len += pl + 4;
		forged[len] = '\0';
		CHECK_EQ(note_open(forged, len, &peter, 1, &nt), EVC_EBADSIG); /* 68 bytes: as Go */
		/* Same length, one bit of the signature flipped. */
		strcpy(forged, msg);
		forged[strlen(go_text) + 1 + 4 + 13 + 10] ^= 1; /* a base64 char of the signature */
		CHECK_EQ(note_open(forged, strlen(forged), &peter, 1, &nt), EVC_EBADSIG);
		/* Text changed after signing. */
		strcpy(forged, msg);
		forged[3] = 'Y';
		CHECK_EQ(note_open(forged, strlen(forged), &peter, 1, &nt), EVC_EBADSIG);
		/* The forgery is ignored when only another key is known... */
		CHECK_EQ(note_open(forged, strlen(forged), &enoch, 1, &nt), EVC_EUNKNOWNKEY);
		/* ...but rejects the note even if another known key verified. */
		strcpy(forged + strlen(forged), enoch_sig);
		keys[0] = peter;
		keys[1] = enoch;
		CHECK_EQ(note_open(forged, strlen(forged), keys, 2, &nt), EVC_EBADSIG);
	}
	free(msg);

	/* Duplicated verified and unverified signatures (note_test.go). */
	{
		char enoch_abcd[256];
		size_t el = strlen(enoch_sig);
		memcpy(enoch_abcd, enoch_sig, 60);
		memcpy(enoch_abcd + 60, "ABCD", 4);
		memcpy(enoch_abcd + 64, enoch_sig + 60, el - 60 + 1);
		char *m1 = cat(&len, go_text, "\n", peter_sig, peter_sig);
		char *m2 = cat(&slen, m1, enoch_sig, enoch_sig, enoch_abcd);
		CHECK_EQ(note_open(m2, slen, &peter, 1, &nt), 1);
		CHECK_EQ(nt.nsigs, 5);
		CHECK(nt.sigs[0].key == &peter && nt.sigs[1].key == NULL);
		free(m1);
		free(m2);
	}

	/* EnochRoot's key is the one of an all-zero seed: its signature too. */
	CHECK_OK(keys_from_seed("EnochRoot", EVC_KEY_ED25519, zero, &zsk, &zvk));
	CHECK_EQ(zvk.id, enoch.id);
	CHECK_MEM(zvk.pub, enoch.pub, 32);
	esk = zsk;
	signers[0] = &psk;
	signers[1] = &esk;
	CHECK_OK(note_sign(go_text, strlen(go_text), signers, 2, &signed_msg, &slen));
	msg = cat(&len, go_text, "\n", peter_sig, enoch_sig);
	CHECK_STR(signed_msg, msg);
	free(signed_msg);
	free(msg);

	/* Multiple signers plus an unknown extra signature. */
	{
		evc_skey other;
		evc_vkey ovk;
		char *m3;
		CHECK_OK(keys_generate("other.example/x", EVC_KEY_ED25519, &other, &ovk));
		signers[0] = &esk;
		signers[1] = &other;
		CHECK_OK(note_sign("hello\n", 6, signers, 2, &signed_msg, &slen));
		signers[0] = &psk;
		CHECK_OK(note_sign("hello\n", 6, signers, 1, &m3, &len));
		/* peter's line appended to enoch + other */
		char *all = cat(&len, signed_msg, m3 + 7, NULL, NULL);
		keys[0] = peter;
		keys[1] = enoch;
		CHECK_EQ(note_open(all, len, keys, 2, &nt), 2);
		CHECK_EQ(nt.nsigs, 3);
		CHECK(nt.sigs[0].key == &keys[1]);
		CHECK(nt.sigs[1].key == NULL);
		CHECK(nt.sigs[2].key == &keys[0]);
		keys[2] = ovk;
		CHECK_EQ(note_open(all, len, keys, 3, &nt), 3);
		free(all);
		free(m3);
		free(signed_msg);
		keys_skey_wipe(&other);
	}
	keys_skey_wipe(&psk);
	keys_skey_wipe(&esk);
	keys_skey_wipe(&zsk);
}

static void
test_note_syntax(void)
{
	evc_vkey peter;
	evc_skey psk;
	const evc_skey *signers[1] = { &psk };
	char *msg, *s;
	size_t len, sl;

	REQUIRE(keys_vkey_parse(peter_vkey, strlen(peter_vkey), &peter) == 0);
	REQUIRE(keys_skey_parse(peter_skey, strlen(peter_skey), &psk) == 0);
	msg = cat(&len, go_text, "\n", peter_sig, NULL);

	/* note_test.go badMsgs, and more. */
	{
		const char *bad[] = {
			go_text,
			"\n",
			"",
			"\n\n",
			EM " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
		};
		for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
			CHECK_EQ(open_str(bad[k], &peter, 1), EVC_EINVAL);
		s = cat(&sl, go_text, "\n", NULL, NULL);
		CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EINVAL);
		free(s);
		s = cat(&sl, "\x01", go_text, "\n", peter_sig);
		CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EINVAL);
		free(s);
		s = cat(&sl, "\xff", go_text, "\n", peter_sig);
		CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EINVAL);
		free(s);
		s = cat(&sl, go_text, "\n", EM " Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n", NULL);
		CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EINVAL);
		free(s);
		s = cat(&sl, go_text, "\n", peter_sig, "Unexpected line.\n");
		CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EINVAL);
		free(s);
	}
	/* Every truncation of a valid note fails to parse. */
	{
		unsigned ok = 0;
		for (size_t k = 0; k < len; k++)
			if (note_parse(msg, k, &nt) == 0)
				ok++;
		CHECK_EQ(ok, 0);
		CHECK_EQ(note_parse(msg, len, &nt), 0);
	}
	/* Missing the empty line: text directly followed by the signature. */
	s = cat(&sl, go_text, peter_sig, NULL, NULL);
	CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EINVAL);
	free(s);
	/* Control characters, bad UTF-8 anywhere. */
	{
		static const char *const inserts[] = {
			"\t", "\r", "\x1b", "\x7f" /* DEL is allowed, as Go */, "\xc0\xaf", "\xed\xa0\x80",
			"\xf4\x90\x80\x80", "\xe2\x80", "\x80",
		};
		for (size_t k = 0; k < sizeof inserts / sizeof inserts[0]; k++) {
			s = cat(&sl, "a", inserts[k], "b\n\n", peter_sig);
			CHECK_EQ(note_parse(s, sl, &nt), k == 3 ? 0 : EVC_EINVAL);
			free(s);
		}
		/* in the signature block too */
		s = cat(&sl, go_text, "\n", peter_sig, EM " x\x01y AAAAAAA=\n");
		CHECK_EQ(note_parse(s, sl, &nt), EVC_EINVAL);
		free(s);
	}
	/* Signature line syntax. */
	{
		static const char *const lines[] = {
			"- PeterNeumann AAAAAAA=\n",          /* ASCII hyphen */
			EM "PeterNeumann AAAAAAA=\n",         /* no space after the dash */
			EM "  AAAAAAA=\n",                    /* empty name */
			EM " PeterNeumann\n",                 /* no signature */
			EM " PeterNeumann \n",                /* empty signature */
			EM " a+b AAAAAAA=\n",                 /* '+' in the name */
			EM " a\xc2\xa0" "b AAAAAAA=\n",       /* U+00A0 in the name */
			EM " a\xe3\x80\x80" "b AAAAAAA=\n",   /* U+3000 in the name */
			EM " PeterNeumann AAAAAA==\n",        /* 4 bytes: key id only */
			EM " PeterNeumann AAAAAAA\n",         /* unpadded */
			EM " PeterNeumann AAAAAAA= \n",       /* trailing space */
			EM " PeterNeumann AAAA AAA=\n",
		};
		for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
			s = cat(&sl, go_text, "\n", lines[k], NULL);
			CHECK_EQ(note_parse(s, sl, &nt), EVC_EINVAL);
			free(s);
		}
		/* 5 bytes is the minimum. */
		s = cat(&sl, go_text, "\n", EM " PeterNeumann AAAAAAA=\n", NULL);
		CHECK_EQ(note_parse(s, sl, &nt), 0);
		CHECK_EQ(nt.sigs[0].sig_len, 1);
		CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EUNKNOWNKEY);
		free(s);
		{
			char line[256], b64[128];
			uint8_t raw[81] = { 0xc7, 0x4f, 0x20, 0xa3 };
			REQUIRE(b64_encode(raw, 80, b64, sizeof b64) > 0);
			snprintf(line, sizeof line, EM " PeterNeumann %s\n", b64);
			s = cat(&sl, go_text, "\n", line, NULL);
			CHECK_EQ(note_parse(s, sl, &nt), 0);
			CHECK_EQ(nt.sigs[0].sig_len, 76);
			CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EBADSIG); /* known key, 76 bytes */
			free(s);
			REQUIRE(b64_encode(raw, 81, b64, sizeof b64) > 0);
			snprintf(line, sizeof line, EM " PeterNeumann %s\n", b64);
			s = cat(&sl, go_text, "\n", line, NULL);
			CHECK_EQ(note_parse(s, sl, &nt), 0);
			CHECK_EQ(nt.sigs[0].sig_len, 77);
			CHECK_EQ(note_open(s, sl, &peter, 1, &nt), EVC_EBADSIG); /* known key, too long */
			free(s);
		}
		/* A post-quantum witness's signature (ML-DSA-87, 4,627 bytes) next
		 * to the log's: the note parses and opens with the log's key; one
		 * over 4 + 8192 bytes is refused. */
		{
			static uint8_t raw[4 + 8193];
			static char b64[11000], line[11100];
			raw[0] = 0x12;
			REQUIRE(b64_encode(raw, 4 + 4627, b64, sizeof b64) > 0);
			snprintf(line, sizeof line, EM " pq-witness.example %s\n", b64);
			static char both[11400];
			snprintf(both, sizeof both, "%s%s", peter_sig, line);
			s = cat(&sl, go_text, "\n", both, NULL);
			CHECK_EQ(note_parse(s, sl, &nt), 0);
			CHECK_EQ(nt.nsigs, 2);
			CHECK_EQ(nt.sigs[1].sig_len, 4627);
			CHECK_EQ(note_open(s, sl, &peter, 1, &nt), 1);
			CHECK(nt.sigs[0].key != NULL && nt.sigs[1].key == NULL);
			free(s);
			REQUIRE(b64_encode(raw, 4 + 8193, b64, sizeof b64) > 0);
			snprintf(line, sizeof line, EM " pq-witness.example %s\n", b64);
			snprintf(both, sizeof both, "%s%s", peter_sig, line);
			s = cat(&sl, go_text, "\n", both, NULL);
			CHECK_EQ(note_parse(s, sl, &nt), EVC_EINVAL);
			free(s);
		}
		/* A 128-byte name is fine, 129 is not. */
		{
			char name[130], line[300];
			memset(name, 'n', 129);
			name[128] = '\0';
			snprintf(line, sizeof line, EM " %s AAAAAAA=\n", name);
			s = cat(&sl, go_text, "\n", line, NULL);
			CHECK_EQ(note_parse(s, sl, &nt), 0);
			free(s);
			name[128] = 'n';
			name[129] = '\0';
			snprintf(line, sizeof line, EM " %s AAAAAAA=\n", name);
			s = cat(&sl, go_text, "\n", line, NULL);
			CHECK_EQ(note_parse(s, sl, &nt), EVC_EINVAL);
			free(s);
		}
	}
	/* The text may hold empty lines: the split is at the last "\n\n". */
	{
		char *m;
		CHECK_OK(note_sign("a\n\nb\n\n", 6, signers, 1, &m, &sl));
		CHECK_EQ(note_open(m, sl, &peter, 1, &nt), 1);
		CHECK_EQ(nt.text_len, 6);
		free(m);
		CHECK_OK(note_sign("\n", 1, signers, 1, &m, &sl));
		CHECK_EQ(note_open(m, sl, &peter, 1, &nt), 1);
		CHECK_EQ(nt.text_len, 1);
		free(m);
		CHECK_OK(note_sign("\xc3\xa9t\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x8c\xb3\n", 15, signers, 1, &m, &sl));
		CHECK_EQ(note_open(m, sl, &peter, 1, &nt), 1);
		free(m);
	}
	/* At most 100 signatures. */
	{
		size_t pl = strlen(peter_sig), tl = strlen(go_text);
		char *big = malloc(tl + 1 + 101 * pl + 1);
		REQUIRE(big != NULL);
		memcpy(big, go_text, tl);
		big[tl] = '\n';
		for (int k = 0; k < 101; k++)
			memcpy(big + tl + 1 + (size_t)k * pl, peter_sig, pl);
		CHECK_EQ(note_open(big, tl + 1 + 100 * pl, &peter, 1, &nt), 1);
		CHECK_EQ(nt.nsigs, 100);
		CHECK_EQ(note_open(big, tl + 1 + 101 * pl, &peter, 1, &nt), EVC_ETOOLARGE);
		CHECK_EQ(note_open(big, tl + 1 + 101 * pl, NULL, 0, &nt), EVC_ETOOLARGE);
		free(big);
	}
	/* At most EVC_MAX_NOTE bytes. */
	{
		size_t pl = strlen(peter_sig), tl = EVC_MAX_NOTE - 1 - pl;
		char *big = malloc(EVC_MAX_NOTE + 2);
		REQUIRE(big != NULL);
		memset(big, 'x', tl);
		big[tl - 1] = '\n';
		big[tl] = '\n';
		memcpy(big + tl + 1, peter_sig, pl);
		CHECK_EQ(note_parse(big, EVC_MAX_NOTE, &nt), 0);
		memmove(big + 1, big, EVC_MAX_NOTE);
		CHECK_EQ(note_parse(big, EVC_MAX_NOTE + 1, &nt), EVC_ETOOLARGE);
		/* note_sign refuses to make a note it could not parse */
		char *m;
		big[tl] = '\n';
		CHECK_EQ(note_sign(big, tl + 1, signers, 1, &m, &sl), EVC_ETOOLARGE);
		CHECK(m == NULL);
		free(big);
	}
	/* note_sign's own checks. */
	{
		char *m = (char *)1;
		evc_skey cos;
		const evc_skey *cs[1] = { &cos };
		uint8_t seed[32] = { 1 };
		CHECK_EQ(note_sign("abc", 3, signers, 1, &m, &sl), EVC_EINVAL);
		CHECK(m == NULL);
		CHECK_EQ(note_sign("", 0, signers, 1, &m, &sl), EVC_EINVAL);
		CHECK_EQ(note_sign("a\tb\n", 4, signers, 1, &m, &sl), EVC_EINVAL);
		CHECK_EQ(note_sign("a\xff\n", 3, signers, 1, &m, &sl), EVC_EINVAL);
		CHECK_EQ(note_sign("abc\n", 4, signers, 0, &m, &sl), EVC_EINVAL);
		CHECK_OK(keys_from_seed("w.example", EVC_KEY_COSIGNATURE, seed, &cos, NULL));
		CHECK_EQ(note_sign("abc\n", 4, cs, 1, &m, &sl), EVC_EINVAL);
		keys_skey_wipe(&cos);
	}
	free(msg);
	keys_skey_wipe(&psk);
}

/* ---- checkpoints ----------------------------------------------------- */

static void
test_checkpoint(void)
{
	static const char sofa[] =
	    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	checkpoint cp, cp2;
	char buf[1024];
	uint8_t root[32];

	/* The tlog-checkpoint / tlog-cosignature example. */
	CHECK_OK(checkpoint_parse(sofa, strlen(sofa), &cp));
	CHECK_STR(cp.origin, "example.com/behind-the-sofa");
	CHECK_EQ(cp.size, 20852163);
	CHECK_EQ(b64_decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", 44, root, 32), 32);
	CHECK_MEM(cp.root, root, 32);
	CHECK(cp.ext == NULL && cp.ext_len == 0);
	CHECK_EQ(checkpoint_format(&cp, buf, sizeof buf), (int)strlen(sofa));
	CHECK_STR(buf, sofa);
	CHECK_EQ(checkpoint_format(&cp, buf, strlen(sofa)), EVC_ETOOLARGE);
	CHECK_EQ(checkpoint_format(&cp, buf, strlen(sofa) + 1), (int)strlen(sofa));

	/* Extension lines, kept verbatim. */
	{
		static const char ext[] = "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
		    "ext one\n\xe2\x9c\x93 two\n";
		CHECK_OK(checkpoint_parse(ext, strlen(ext), &cp));
		CHECK_EQ(cp.size, 0);
		merkle_empty_root(root);
		CHECK_MEM(cp.root, root, 32);
		CHECK_EQ(cp.ext_len, strlen("ext one\n\xe2\x9c\x93 two\n"));
		CHECK(cp.ext == ext + strlen(ext) - cp.ext_len);
		CHECK_EQ(checkpoint_format(&cp, buf, sizeof buf), (int)strlen(ext));
		CHECK_STR(buf, ext);
	}
	/* Largest size. */
	{
		static const char big[] = "o\n18446744073709551615\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
		CHECK_OK(checkpoint_parse(big, strlen(big), &cp));
		CHECK(cp.size == UINT64_MAX);
		CHECK_EQ(checkpoint_format(&cp, buf, sizeof buf), (int)strlen(big));
		CHECK_STR(buf, big);
	}
	/* Rejects. */
	{
		static const char *const bad[] = {
			"",
			"example.com/log\n",
			"example.com/log\n5\n",
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", /* no final \n */
			"\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",            /* empty origin */
			"example.com log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com+log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com\xe3\x80\x80log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n00\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n5 \nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n0x5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",   /* unpadded */
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",  /* non-canonical */
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I= \n",
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n",   /* 31 bytes */
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n",   /* 33 bytes */
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  /* empty ext */
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\na\n\nb\n",
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nno newline",
			"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nta\tb\n",
			"example.com/log\r\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		};
		for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
			int rc = checkpoint_parse(bad[k], strlen(bad[k]), &cp);
			CHECK_(rc == EVC_EINVAL, "checkpoint_parse(bad[%zu]) = %d", k, rc);
		}
		/* Origins up to 255 bytes. */
		char text[400];
		memset(text, 'o', 255);
		memcpy(text + 255, "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", 48);
		CHECK_OK(checkpoint_parse(text, strlen(text), &cp));
		CHECK_EQ(strlen(cp.origin), 255);
		memset(text, 'o', 256);
		memcpy(text + 256, "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", 48);
		CHECK_EQ(checkpoint_parse(text, strlen(text), &cp), EVC_EINVAL);
	}
	/* checkpoint_format's checks. */
	memset(&cp2, 0, sizeof cp2);
	strcpy(cp2.origin, "a b");
	CHECK_EQ(checkpoint_format(&cp2, buf, sizeof buf), EVC_EINVAL);
	strcpy(cp2.origin, "");
	CHECK_EQ(checkpoint_format(&cp2, buf, sizeof buf), EVC_EINVAL);
	strcpy(cp2.origin, "a+b");
	CHECK_EQ(checkpoint_format(&cp2, buf, sizeof buf), EVC_EINVAL);
	strcpy(cp2.origin, "ok");
	cp2.ext = "x";
	cp2.ext_len = 1;
	CHECK_EQ(checkpoint_format(&cp2, buf, sizeof buf), EVC_EINVAL);
	cp2.ext = "\n";
	CHECK_EQ(checkpoint_format(&cp2, buf, sizeof buf), EVC_EINVAL);
	cp2.ext = "x\n";
	cp2.ext_len = 2;
	CHECK_EQ(checkpoint_format(&cp2, buf, sizeof buf), 3 + 2 + 45 + 2);
	CHECK_STR(buf, "ok\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n");
}

/* ---- cosignature/v1 ------------------------------------------------------ */

static void
test_cosig(void)
{
	static const char text[] = "example.com/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	static const char text_ext[] = "example.com/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nExtendo\n";
	uint8_t raw[80], sig[NOTE_COSIG_LEN], sig2[NOTE_COSIG_LEN], seed[32];
	evc_skey wsk, lsk;
	evc_vkey wvk, lvk, remora, keys[3];
	uint64_t ts = 0;
	char msg[512];
	int n;

	/* The published vector: key id || 1727964367 || signature. */
	n = b64_decode(cosig_vector, strlen(cosig_vector), raw, sizeof raw);
	CHECK_EQ(n, NOTE_COSIG_LEN);
	CHECK_EQ((uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3],
	    0x646846b9u);
	{
		uint64_t t = 0;
		for (int k = 4; k < 12; k++)
			t = t << 8 | raw[k];
		CHECK(t == 1727964367u);
	}
	/* It parses as a note signature line of 76 bytes. */
	snprintf(msg, sizeof msg, "%s\n" EM " witness.example %s\n", text, cosig_vector);
	CHECK_EQ(note_parse(msg, strlen(msg), &nt), 0);
	CHECK_EQ(nt.sigs[0].id, 0x646846b9u);
	CHECK_EQ(nt.sigs[0].sig_len, 72);

	/* A type-0x04 verifier key of transparency-dev/formats' tests. */
	CHECK_OK(keys_vkey_parse(remora_vkey, strlen(remora_vkey), &remora));
	CHECK_EQ(remora.type, EVC_KEY_COSIGNATURE);
	CHECK_EQ(remora.id, 0xda77ade7u);

	memset(seed, 7, sizeof seed);
	CHECK_OK(keys_from_seed("witness.example/w1", EVC_KEY_COSIGNATURE, seed, &wsk, &wvk));
	memset(seed, 9, sizeof seed);
	CHECK_OK(keys_from_seed("example.com/log", EVC_KEY_ED25519, seed, &lsk, &lvk));
	CHECK_EQ(wvk.id, keys_key_id("witness.example/w1", EVC_KEY_COSIGNATURE, wvk.pub));

	/* Round trip; the signed message is exactly the C2SP one. */
	CHECK_OK(cosig_sign(text, strlen(text), &wsk, 1679315147, sig));
	CHECK_OK(cosig_verify(text, strlen(text), &wvk, sig, &ts));
	CHECK(ts == 1679315147);
	CHECK_EQ(sig[0], wvk.id >> 24);
	CHECK_EQ(sig[3], wvk.id & 0xff);
	snprintf(msg, sizeof msg, "cosignature/v1\ntime 1679315147\n%s", text);
	CHECK_EQ(crypto_sign_verify_detached(sig + 12, (const unsigned char *)msg, strlen(msg), wvk.pub), 0);
	CHECK_OK(cosig_sign(text, strlen(text), &wsk, 1679315147, sig2));
	CHECK_MEM(sig, sig2, NOTE_COSIG_LEN);
	/* Extension lines are covered. */
	CHECK_OK(cosig_sign(text_ext, strlen(text_ext), &wsk, 5, sig));
	CHECK_OK(cosig_verify(text_ext, strlen(text_ext), &wvk, sig, &ts));
	snprintf(msg, sizeof msg, "%s", text_ext);
	msg[strlen(msg) - 2] = '@';
	CHECK_EQ(cosig_verify(msg, strlen(msg), &wvk, sig, &ts), EVC_EBADSIG);
	CHECK_EQ(cosig_verify(text, strlen(text), &wvk, sig, &ts), EVC_EBADSIG);
	/* Time 0 and the largest allowed. */
	CHECK_OK(cosig_sign(text, strlen(text), &wsk, 0, sig));
	CHECK_OK(cosig_verify(text, strlen(text), &wvk, sig, &ts));
	CHECK(ts == 0);
	CHECK_OK(cosig_sign(text, strlen(text), &wsk, (uint64_t)INT64_MAX, sig));
	CHECK_OK(cosig_verify(text, strlen(text), &wvk, sig, &ts));
	CHECK(ts == (uint64_t)INT64_MAX);
	CHECK_EQ(cosig_sign(text, strlen(text), &wsk, (uint64_t)INT64_MAX + 1, sig2), EVC_EINVAL);

	/* Negative cases. */
	CHECK_OK(cosig_sign(text, strlen(text), &wsk, 1000, sig));
	memcpy(sig2, sig, sizeof sig);
	sig2[11] ^= 1; /* other time */
	CHECK_EQ(cosig_verify(text, strlen(text), &wvk, sig2, &ts), EVC_EBADSIG);
	memcpy(sig2, sig, sizeof sig);
	sig2[40] ^= 1;
	CHECK_EQ(cosig_verify(text, strlen(text), &wvk, sig2, &ts), EVC_EBADSIG);
	memcpy(sig2, sig, sizeof sig);
	sig2[4] = 0x80; /* time >= 2^63 */
	CHECK_EQ(cosig_verify(text, strlen(text), &wvk, sig2, &ts), EVC_EBADSIG);
	memcpy(sig2, sig, sizeof sig);
	sig2[0] ^= 1; /* key id */
	CHECK_EQ(cosig_verify(text, strlen(text), &wvk, sig2, &ts), EVC_EINVAL);
	CHECK_EQ(cosig_verify(text, strlen(text), &lvk, sig, &ts), EVC_EINVAL);   /* type 0x01 */
	CHECK_EQ(cosig_sign(text, strlen(text), &lsk, 1000, sig2), EVC_EINVAL); /* type 0x01 */
	CHECK_EQ(cosig_sign("one line\n", 9, &wsk, 1000, sig2), EVC_EINVAL);
	CHECK_EQ(cosig_sign("a\nb\nc", 5, &wsk, 1000, sig2), EVC_EINVAL);

	/* note_open: a checkpoint signed by the log and cosigned. */
	{
		const evc_skey *signers[1] = { &lsk };
		char *signed_cp, *full, line[256];
		size_t sl, fl;
		CHECK_OK(note_sign(text, strlen(text), signers, 1, &signed_cp, &sl));
		CHECK_OK(cosig_sign(text, strlen(text), &wsk, 1727964367, sig));
		CHECK_OK(note_sig_line(wvk.name, wvk.id, sig + 4, 72, line, sizeof line));
		full = cat(&fl, signed_cp, line, NULL, NULL);
		keys[0] = lvk;
		keys[1] = wvk;
		CHECK_EQ(note_open(full, fl, keys, 2, &nt), 2);
		CHECK(nt.sigs[1].key == &keys[1]);
		CHECK(nt.sigs[1].timestamp == 1727964367);
		CHECK(nt.sigs[0].timestamp == 0);
		CHECK_EQ(note_open(full, fl, &wvk, 1, &nt), 1);
		CHECK_EQ(note_open(full, fl, &lvk, 1, &nt), 1);
		/* The log's Ed25519 signature is not a cosignature, nor the reverse. */
		keys[0] = lvk;
		keys[0].type = EVC_KEY_COSIGNATURE;
		CHECK_EQ(note_open(full, fl, keys, 1, &nt), EVC_EBADSIG);
		keys[0] = wvk;
		keys[0].type = EVC_KEY_ED25519;
		CHECK_EQ(note_open(full, fl, keys, 1, &nt), EVC_EBADSIG);
		/* A forged cosignature rejects the note. */
		full[fl - 10] = full[fl - 10] == 'A' ? 'B' : 'A';
		CHECK_EQ(note_open(full, fl, keys + 1, 1, &nt), EVC_EBADSIG);
		CHECK_EQ(note_open(full, fl, &lvk, 1, &nt), 1); /* unknown to this verifier */
		free(full);
		free(signed_cp);
	}
	keys_skey_wipe(&wsk);
	keys_skey_wipe(&lsk);
}

/* ---- tlog-proof ------------------------------------------------------- */

/* The example of c2sp.org/tlog-proof, with real signatures by local keys
 * named as there (the spec elides its signatures). */
static const char c2sp_head[] =
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n";
static const char c2sp_cp[] = "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n";

static char *
signed_checkpoint(const char *text, size_t *len, evc_vkey vks[4])
{
	static const char *const wit[3] = { "witness1.example", "witness2.example", "witness3.example" };
	evc_skey log, w;
	const evc_skey *signers[1] = { &log };
	uint8_t seed[32], sig[NOTE_COSIG_LEN];
	char *m, *all, lines[3][256];
	size_t ml;
	checkpoint cp;

	REQUIRE(checkpoint_parse(text, strlen(text), &cp) == 0);
	memset(seed, 0x11, sizeof seed);
	REQUIRE(keys_from_seed(cp.origin, EVC_KEY_ED25519, seed, &log, &vks[0]) == 0);
	REQUIRE(note_sign(text, strlen(text), signers, 1, &m, &ml) == 0);
	for (int k = 0; k < 3; k++) {
		seed[0] = (uint8_t)(0x20 + k);
		REQUIRE(keys_from_seed(wit[k], EVC_KEY_COSIGNATURE, seed, &w, &vks[1 + k]) == 0);
		REQUIRE(cosig_sign(text, strlen(text), &w, 1700000000u + (unsigned)k, sig) == 0);
		REQUIRE(note_sig_line(w.name, w.id, sig + 4, 72, lines[k], sizeof lines[k]) > 0);
		keys_skey_wipe(&w);
	}
	keys_skey_wipe(&log);
	all = cat(len, m, lines[0], lines[1], lines[2]);
	free(m);
	return all;
}

static tlog_proof tp; /* big */

/* Reader of stored hashes kept in an array. */
static int
array_read(void *ctx, const uint64_t *idx, size_t n, uint8_t (*out)[32])
{
	uint8_t (*h)[32] = ctx;

	for (size_t k = 0; k < n; k++)
		memcpy(out[k], h[idx[k]], 32);
	return 0;
}

static void
test_tlog_proof(void)
{
	evc_vkey vks[4];
	char *cpn, *out, *expect;
	size_t cpl, ol, el;
	uint8_t extra[64], hashes[5][32];
	const char *hashes_b64[5] = {
		"gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
		"B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=",
		"EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=",
		"RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=",
		"AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=",
	};
	int xl;

	cpn = signed_checkpoint(c2sp_cp, &cpl, vks);
	CHECK_EQ(note_open(cpn, cpl, vks, 4, &nt), 4);
	CHECK(nt.sigs[2].timestamp == 1700000001u);

	/* The C2SP example layout, byte for byte. */
	xl = b64_decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ", 52, extra, sizeof extra);
	CHECK_EQ(xl, 39);
	CHECK_MEM(extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
	for (int k = 0; k < 5; k++)
		CHECK_EQ(b64_decode(hashes_b64[k], 44, hashes[k], 32), 32);
	CHECK_OK(tlog_proof_format(73894, extra, (size_t)xl, (const uint8_t (*)[32])hashes, 5, cpn, cpl,
	    &out, &ol));
	expect = cat(&el, c2sp_head, cpn, NULL, NULL);
	CHECK_EQ(ol, el);
	CHECK_STR(out, expect);

	CHECK_OK(tlog_proof_parse(expect, el, &tp));
	CHECK(tp.index == 73894);
	CHECK_EQ(tp.has_extra, 1);
	CHECK_EQ(tp.extra_len, 39);
	CHECK_MEM(tp.extra, extra, 39);
	CHECK_EQ(tp.nhashes, 5);
	CHECK_MEM(tp.hashes, hashes, sizeof hashes);
	CHECK(tp.checkpoint == expect + strlen(c2sp_head));
	CHECK_EQ(tp.checkpoint_len, cpl);
	CHECK_EQ(note_open(tp.checkpoint, tp.checkpoint_len, vks, 4, &nt), 4);
	free(out);

	/* A real proof: verify inclusion against the checkpoint. */
	{
		uint8_t leaves[21][32], root[32], proof[8][32];
		char cptext[256], *cp2, *p2;
		size_t cp2l, p2l, plen;
		checkpoint cp;
		merkle_stream s;
		uint8_t (*store)[32] = calloc(merkle_stored_count(21), 32);
		uint64_t cnt = 0;
		REQUIRE(store != NULL);
		merkle_stream_init(&s);
		for (int i = 0; i < 21; i++) {
			uint8_t st[8][32];
			unsigned c;
			merkle_leaf_hash(&i, sizeof i, leaves[i]);
			c = merkle_stream_push(&s, leaves[i], st);
			memcpy(store[cnt], st, c * 32);
			cnt += c;
		}
		merkle_stream_root(&s, root);
		memset(&cp, 0, sizeof cp);
		strcpy(cp.origin, "example.com/fancylog");
		cp.size = 21;
		memcpy(cp.root, root, 32);
		REQUIRE(checkpoint_format(&cp, cptext, sizeof cptext) > 0);
		cp2 = signed_checkpoint(cptext, &cp2l, vks);
		{
			merkle_reader r = { array_read, store, NULL };
			CHECK_OK(merkle_prove_inclusion(13, 21, &r, proof, 8, &plen));
		}
		CHECK_OK(tlog_proof_format(13, NULL, 0, (const uint8_t (*)[32])proof, plen, cp2, cp2l,
		    &p2, &p2l));
		CHECK_OK(tlog_proof_parse(p2, p2l, &tp));
		CHECK_EQ(tp.has_extra, 0);
		CHECK_EQ(tp.nhashes, plen);
		CHECK_EQ(note_open(tp.checkpoint, tp.checkpoint_len, vks, 1, &nt), 1);
		CHECK_OK(checkpoint_parse(nt.text, nt.text_len, &cp));
		CHECK_EQ(merkle_verify_inclusion(tp.index, cp.size, leaves[13],
		    (const uint8_t (*)[32])tp.hashes, tp.nhashes, cp.root), 0);
		CHECK_EQ(merkle_verify_inclusion(tp.index, cp.size, leaves[12],
		    (const uint8_t (*)[32])tp.hashes, tp.nhashes, cp.root), EVC_EPROOF);
		CHECK(memcmp(p2, "c2sp.org/tlog-proof@v1\nindex 13\n", 32) == 0);
		free(p2);
		/* Empty extra is written and read back as present. */
		CHECK_OK(tlog_proof_format(0, extra, 0, NULL, 0, cp2, cp2l, &p2, &p2l));
		CHECK(memcmp(p2, "c2sp.org/tlog-proof@v1\nextra \nindex 0\n\n", 39) == 0);
		CHECK_OK(tlog_proof_parse(p2, p2l, &tp));
		CHECK_EQ(tp.has_extra, 1);
		CHECK_EQ(tp.extra_len, 0);
		CHECK_EQ(tp.nhashes, 0);
		free(p2);
		free(cp2);
		free(store);
	}

	/* Rejects. */
	{
		static const struct {
			const char *head;
			int rc;
		} bad[] = {
			{ "", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v2\nindex 1\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1 \nindex 1\n\n", EVC_EINVAL },
			{ "C2SP.org/tlog-proof@v1\nindex 1\n\n", EVC_EINVAL },
			{ "index 1\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex \n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 01\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex -1\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex  1\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 1 \n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex x\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 1\r\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nextra !!notbase64!!\nindex 0\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nextra Zg\nindex 0\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nextra Zg==\nextra Zg==\nindex 0\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\nextra Zg==\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\n!!notbase64!!\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ= \n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlR=\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\nZm9vYmFy\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n\n", EVC_EINVAL },
			{ "c2sp.org/tlog-proof@v1\nindex 0\n \n\n", EVC_EINVAL },
		};
		for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
			size_t bl;
			char *b = cat(&bl, bad[k].head, cpn, NULL, NULL);
			int rc = tlog_proof_parse(b, bl, &tp);
			CHECK_(rc == bad[k].rc, "tlog_proof_parse(bad[%zu]) = %d", k, rc);
			CHECK(tp.nhashes == 0 && tp.checkpoint == NULL);
			free(b);
		}
		/* Missing the empty line: hashes run into the checkpoint. */
		{
			size_t bl;
			char *b = cat(&bl, "c2sp.org/tlog-proof@v1\nindex 0\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n",
			    cpn, NULL, NULL);
			CHECK_EQ(tlog_proof_parse(b, bl, &tp), EVC_EINVAL);
			free(b);
			b = cat(&bl, "c2sp.org/tlog-proof@v1\nindex 0\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n",
			    NULL, NULL, NULL);
			CHECK_EQ(tlog_proof_parse(b, bl, &tp), EVC_EINVAL);
			free(b);
			b = cat(&bl, "c2sp.org/tlog-proof@v1\nindex 0\n\n", NULL, NULL, NULL);
			CHECK_EQ(tlog_proof_parse(b, bl, &tp), EVC_EINVAL); /* no checkpoint */
			free(b);
		}
		/* Checkpoint: not a signed note / not a checkpoint / truncated. */
		{
			size_t bl;
			char *b = cat(&bl, "c2sp.org/tlog-proof@v1\nindex 0\n\n", c2sp_cp, NULL, NULL);
			CHECK_EQ(tlog_proof_parse(b, bl, &tp), EVC_EINVAL);
			free(b);
			b = cat(&bl, "c2sp.org/tlog-proof@v1\nindex 0\n\n", go_text, "\n", peter_sig);
			CHECK_EQ(tlog_proof_parse(b, bl, &tp), EVC_EINVAL);
			free(b);
			b = cat(&bl, "c2sp.org/tlog-proof@v1\nindex 0\n\n", cpn, NULL, NULL);
			CHECK_OK(tlog_proof_parse(b, bl, &tp));
			CHECK_EQ(tlog_proof_parse(b, bl - 1, &tp), EVC_EINVAL);
			free(b);
		}
		/* 64 hashes is the most; extra of 4096 bytes the most. */
		{
			uint8_t many[65][32];
			uint8_t *x = calloc(1, TLOG_PROOF_MAX_EXTRA + 1);
			char *p;
			size_t pl;
			REQUIRE(x != NULL);
			memset(many, 0x5a, sizeof many);
			CHECK_OK(tlog_proof_format(7, x, TLOG_PROOF_MAX_EXTRA, (const uint8_t (*)[32])many, 64,
			    cpn, cpl, &p, &pl));
			CHECK_OK(tlog_proof_parse(p, pl, &tp));
			CHECK_EQ(tp.nhashes, 64);
			CHECK_EQ(tp.extra_len, TLOG_PROOF_MAX_EXTRA);
			free(p);
			CHECK_EQ(tlog_proof_format(7, NULL, 0, (const uint8_t (*)[32])many, 65, cpn, cpl, &p, &pl),
			    EVC_EINVAL);
			CHECK(p == NULL);
			CHECK_EQ(tlog_proof_format(7, x, TLOG_PROOF_MAX_EXTRA + 1, NULL, 0, cpn, cpl, &p, &pl),
			    EVC_EINVAL);
			CHECK_EQ(tlog_proof_format(7, NULL, 3, NULL, 0, cpn, cpl, &p, &pl), EVC_EINVAL);
			CHECK_EQ(tlog_proof_format(7, NULL, 0, NULL, 0, c2sp_cp, strlen(c2sp_cp), &p, &pl),
			    EVC_EINVAL);
			/* build 65 hash lines by hand */
			{
				char line[46], *big = malloc(100 + 65 * 45 + cpl);
				size_t o;
				REQUIRE(big != NULL);
				o = (size_t)sprintf(big, "c2sp.org/tlog-proof@v1\nindex 7\n");
				REQUIRE(b64_encode(many[0], 32, line, sizeof line) == 44);
				for (int k = 0; k < 65; k++) {
					memcpy(big + o, line, 44);
					big[o + 44] = '\n';
					o += 45;
				}
				big[o++] = '\n';
				memcpy(big + o, cpn, cpl);
				o += cpl;
				CHECK_EQ(tlog_proof_parse(big, o, &tp), EVC_ETOOLARGE);
				free(big);
			}
			/* extra of 4097 bytes */
			{
				char *big = malloc(20000 + cpl), *q;
				size_t o;
				int e;
				REQUIRE(big != NULL);
				o = (size_t)sprintf(big, "c2sp.org/tlog-proof@v1\nextra ");
				e = b64_encode(x, TLOG_PROOF_MAX_EXTRA + 1, big + o, 20000 - o);
				REQUIRE(e > 0);
				o += (size_t)e;
				q = big + o;
				o += (size_t)sprintf(q, "\nindex 0\n\n");
				memcpy(big + o, cpn, cpl);
				o += cpl;
				CHECK_EQ(tlog_proof_parse(big, o, &tp), EVC_ETOOLARGE);
				free(big);
			}
			free(x);
		}
	}
	free(expect);
	free(cpn);
}

int
main(void)
{
	REQUIRE(sodium_init() >= 0);
	test_base64();
	test_go_example();
	test_note_syntax();
	test_checkpoint();
	test_cosig();
	test_tlog_proof();
	CHECK_DONE("test_note");
}
