// Verifications per second on one core, per evidence kind, with and without a collateral cache
// (the target: >= 1,000 SGX quotes/s per core with cached collateral). Each benchmark
// reports `per_second` (compare with the 1,000/s target).
#include <benchmark/benchmark.h>

#include "attestation/dcap_collateral.h"
#include "attestation/dcap_test_data.h"
#include "attestation/dcap_verifier.h"
#include "attestation/evidence.h"
#include "attestation/snp_test_data.h"

namespace cove::attestation {
namespace {

using testing::DcapVector;

void Report(benchmark::State& state) {
  state.counters["per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Every quote re-parses and re-verifies the collateral (signatures, chains, CRLs).
void VerifyWithoutCache(benchmark::State& state, EvidenceKind kind, DcapVector vector) {
  auto quote = testing::ReadDcapVector(vector.quote);
  auto collateral = testing::ReadDcapVectorText(vector.collateral);
  for (auto _ : state) {
    auto trusted = TrustedDcapCollateral::Create(collateral);
    if (!trusted.ok()) state.SkipWithError(trusted.status().ToString().c_str());
    auto result = VerifyDcapQuote(kind, quote, **trusted, vector.inside);
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    benchmark::DoNotOptimize(result);
  }
  Report(state);
}

// The collateral is verified once (as CAS does when it refreshes it); each quote is then
// checked against it, validity windows included.
void VerifyWithCachedCollateral(benchmark::State& state, EvidenceKind kind, DcapVector vector) {
  auto quote = testing::ReadDcapVector(vector.quote);
  auto trusted = TrustedDcapCollateral::Create(testing::ReadDcapVectorText(vector.collateral));
  if (!trusted.ok()) {
    state.SkipWithError(trusted.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto result = VerifyDcapQuote(kind, quote, **trusted, vector.inside);
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    benchmark::DoNotOptimize(result);
  }
  Report(state);
}

void BM_SgxQuoteNoCache(benchmark::State& s) {
  VerifyWithoutCache(s, EvidenceKind::kSgx, testing::SgxVector());
}
void BM_SgxQuoteCachedCollateral(benchmark::State& s) {
  VerifyWithCachedCollateral(s, EvidenceKind::kSgx, testing::SgxVector());
}
void BM_TdxQuoteNoCache(benchmark::State& s) {
  VerifyWithoutCache(s, EvidenceKind::kTdx, testing::TdxVector());
}
void BM_TdxQuoteCachedCollateral(benchmark::State& s) {
  VerifyWithCachedCollateral(s, EvidenceKind::kTdx, testing::TdxVector());
}

// SEV-SNP has no collateral: each report verifies the VCEK -> ASK -> ARK chain and the signature.
void BM_SnpReport(benchmark::State& state) {
  auto report = testing::VirteeReport();
  VerificationInputs inputs;
  inputs.at = testing::At("2025-07-01T00:00:00Z");
  inputs.vcek = testing::VirteeVcek();
  for (auto _ : state) {
    auto result = VerifierFor(EvidenceKind::kSnp).Verify(report, inputs);
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    benchmark::DoNotOptimize(result);
  }
  Report(state);
}

BENCHMARK(BM_SgxQuoteNoCache)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SgxQuoteCachedCollateral)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxQuoteNoCache)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxQuoteCachedCollateral)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpReport)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cove::attestation

BENCHMARK_MAIN();
