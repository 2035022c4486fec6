/* error.c — evc_strerror */
#include "evc.h"

const char *
evc_strerror(int err)
{
	switch (err) {
	case EVC_OK: return "success";
	case EVC_EINVAL: return "invalid argument";
	case EVC_ENOMEM: return "out of memory";
	case EVC_EBADSIG: return "bad signature";
	case EVC_EUNKNOWNKEY: return "unknown key";
	case EVC_EPERM: return "permission denied";
	case EVC_ECONFLICT: return "conflict";
	case EVC_ENOTFOUND: return "not found";
	case EVC_ETOOLARGE: return "too large";
	case EVC_EFULL: return "resource exhausted";
	case EVC_EIO: return "I/O error";
	case EVC_EDB: return "database error";
	case EVC_EPROOF: return "proof does not verify";
	case EVC_ECORRUPT: return "stored data is corrupt";
	case EVC_EEXIST: return "already exists";
	case EVC_ECRYPTO: return "cryptographic library failure";
	case EVC_EAGAIN: return "need more input";
	case EVC_EPASS: return "wrong passphrase or damaged key file";
	default: return "unknown error";
	}
}
