// Chain verification to the pinned Intel SGX Root CA with CRLs, over OpenSSL's X509_STORE.
#include "attestation/pck_chain.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "attestation/intel_sgx_root_ca.h"
#include "common/crypto.h"

namespace cove::attestation {
namespace {

bool IsCrlError(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_CERT_REVOKED:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
      return true;
    default:
      return false;
  }
}

bool IsSelfIssued(X509* cert) {
  return X509_check_issued(cert, cert) == X509_V_OK;
}

std::string SubjectOf(X509* cert) {
  char buf[256] = {0};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

}  // namespace

Result<X509Ptr> PinnedIntelRoot() {
  auto der = IntelSgxRootCaDer();
  if (Sha256(der) != kIntelSgxRootCaSha256) {
    return Internal("pinned Intel SGX Root CA does not match its fingerprint");
  }
  return ParseDerCertificate(der);
}

Result<CertificateWindow> CertificateValidity(const X509* cert) {
  CertificateWindow window;
  COVE_ASSIGN_OR_RETURN(window.not_before, Asn1TimeToEpoch(X509_get0_notBefore(cert)));
  COVE_ASSIGN_OR_RETURN(window.not_after, Asn1TimeToEpoch(X509_get0_notAfter(cert)));
  return window;
}

Result<IntelChainVerifier> IntelChainVerifier::Create(const std::vector<X509CrlPtr>& crls) {
  COVE_ASSIGN_OR_RETURN(X509Ptr root, PinnedIntelRoot());
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), root.get()) != 1) {
    return Internal("X509_STORE setup failed: " + TakeOpenSslError());
  }
  for (const auto& crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1) {
      return Internal("X509_STORE_add_crl failed: " + TakeOpenSslError());
    }
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return IntelChainVerifier(std::move(store), std::move(root));
}

Status IntelChainVerifier::Verify(const std::vector<X509Ptr>& chain, std::optional<std::time_t> at,
                                  const ChainSteps& steps) const {
  if (chain.empty()) return IntegrityError(std::string(steps.chain) + ": empty chain");
  std::vector<uint8_t> root_der = CertificateDer(root_.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  if (untrusted == nullptr) return Internal(std::string(steps.chain) + ": out of memory");
  struct StackFree {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted_owner(untrusted);
  for (size_t i = 1; i < chain.size(); ++i) {
    X509* cert = chain[i].get();
    if (IsSelfIssued(cert)) {
      if (CertificateDer(cert) != root_der) {
        return IntegrityError(std::string(steps.chain) + ": the chain's root \"" + SubjectOf(cert) +
                              "\" is not the pinned Intel SGX Root CA");
      }
      continue;  // the pinned copy in the store is the anchor
    }
    sk_X509_push(untrusted, cert);
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), chain[0].get(), untrusted) != 1) {
    return Internal(std::string(steps.chain) + ": X509_STORE_CTX_init failed");
  }
  if (at) {
    X509_STORE_CTX_set_time(ctx.get(), 0, *at);
  } else {
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  }
  int ok = X509_verify_cert(ctx.get());
  ERR_clear_error();
  if (ok == 1) {
    // Every carried certificate must be part of the verified path: a chain padded with an
    // unused (say, altered) certificate is refused rather than silently ignored.
    STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx.get());
    for (size_t i = 0; i < chain.size(); ++i) {
      bool used = false;
      for (int j = 0; j < sk_X509_num(path) && !used; ++j) {
        used = X509_cmp(sk_X509_value(path, j), chain[i].get()) == 0;
      }
      if (!used) {
        return IntegrityError(std::string(steps.chain) + ": certificate #" + std::to_string(i + 1) +
                              " (\"" + SubjectOf(chain[i].get()) + "\") is not on the path");
      }
    }
    return Status::Ok();
  }
  int error = X509_STORE_CTX_get_error(ctx.get());
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  std::string_view step = IsCrlError(error) ? steps.crl : steps.chain;
  return IntegrityError(std::string(step) + ": " + X509_verify_cert_error_string(error) +
                        " (certificate depth " + std::to_string(depth) + ")");
}

}  // namespace cove::attestation
