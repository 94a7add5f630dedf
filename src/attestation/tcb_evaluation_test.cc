// TCB evaluation on synthetic TCB info: level order, TDX component matching with and without
// the module version, TDX module identities, QE identity checks and status convergence.
#include "attestation/tcb_evaluation.h"

#include <gtest/gtest.h>

namespace cove::attestation {
namespace {

TcbLevel Level(uint8_t sgx, uint16_t pcesvn, TcbStatus status, std::vector<std::string> ids = {},
               std::optional<uint8_t> tdx = std::nullopt) {
  TcbLevel level;
  level.sgx_components.fill(sgx);
  level.pcesvn = pcesvn;
  level.status = status;
  level.advisories = std::move(ids);
  level.tcb_date = "2024-01-01T00:00:00Z";
  if (tdx) {
    level.tdx_components.emplace();
    level.tdx_components->fill(*tdx);
  }
  return level;
}

PckExtensions Platform(uint8_t sgx, uint16_t pcesvn) {
  PckExtensions pck;
  pck.sgx_tcb_components.fill(sgx);
  pck.pcesvn = pcesvn;
  return pck;
}

TEST(TcbEvaluationTest, PicksTheFirstLevelThePlatformMeets) {
  TcbInfo info;
  info.levels = {Level(5, 10, TcbStatus::kUpToDate),
                 Level(4, 10, TcbStatus::kSWHardeningNeeded, {"INTEL-SA-1"}),
                 Level(1, 1, TcbStatus::kOutOfDate, {"INTEL-SA-1", "INTEL-SA-2"})};
  EXPECT_EQ(MatchTcbLevel(info, Platform(5, 10), nullptr)->status, TcbStatus::kUpToDate);
  auto middle = MatchTcbLevel(info, Platform(4, 12), nullptr);
  EXPECT_EQ(middle->status, TcbStatus::kSWHardeningNeeded);
  EXPECT_EQ(middle->advisories, std::vector<std::string>{"INTEL-SA-1"});
  EXPECT_EQ(MatchTcbLevel(info, Platform(9, 9), nullptr)->status, TcbStatus::kOutOfDate);
  auto none = MatchTcbLevel(info, Platform(0, 10), nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message().rfind("tcb-level: ", 0), 0u);
}

TEST(TcbEvaluationTest, TdxComponentsSkipTheModuleBytesOnlyWhenAModuleVersionIsSet) {
  TcbInfo info;
  info.id = "TDX";
  info.levels = {Level(1, 1, TcbStatus::kUpToDate, {}, 3)};
  TdReportBody td;
  td.tee_tcb_svn.fill(3);
  EXPECT_TRUE(MatchTcbLevel(info, Platform(1, 1), &td).ok());
  td.tee_tcb_svn[0] = 0;  // module SVN below the level ...
  td.tee_tcb_svn[1] = 1;  // ... but judged by the TDX_01 module identity instead
  EXPECT_TRUE(MatchTcbLevel(info, Platform(1, 1), &td).ok());
  td.tee_tcb_svn[1] = 0;  // no module version: byte 0 counts again
  EXPECT_FALSE(MatchTcbLevel(info, Platform(1, 1), &td).ok());
}

TEST(TcbEvaluationTest, TdxModuleIdentityIsChosenByVersionAndLevelBySvn) {
  TcbInfo info;
  TdxModuleIdentity identity;
  identity.id = "TDX_01";
  identity.attributes_mask.fill(0xff);
  identity.levels = {{6, "", TcbStatus::kUpToDate, {}},
                     {4, "", TcbStatus::kOutOfDate, {"INTEL-SA-01036"}}};
  info.tdx_module_identities = {identity};
  TdReportBody td;
  td.tee_tcb_svn[1] = 1;
  td.tee_tcb_svn[0] = 6;
  auto up_to_date = EvaluateTdxModule(info, td);
  ASSERT_TRUE(up_to_date.ok()) << up_to_date.status().message();
  EXPECT_EQ(up_to_date->id, "TDX_01");
  EXPECT_EQ(up_to_date->verdict.status, TcbStatus::kUpToDate);
  td.tee_tcb_svn[0] = 5;
  EXPECT_EQ(EvaluateTdxModule(info, td)->verdict.status, TcbStatus::kOutOfDate);
  td.tee_tcb_svn[0] = 3;
  EXPECT_FALSE(EvaluateTdxModule(info, td).ok());
  td.tee_tcb_svn[0] = 6;
  td.mrsignerseam[0] = 1;
  EXPECT_EQ(EvaluateTdxModule(info, td).status().message().rfind("tdx-module: ", 0), 0u);
  td.mrsignerseam[0] = 0;
  td.tee_tcb_svn[1] = 3;  // TDX_03 is not listed
  EXPECT_FALSE(EvaluateTdxModule(info, td).ok());
}

TEST(TcbEvaluationTest, QeIdentityChecksSignerProductAndMaskedAttributes) {
  QeIdentity identity;
  identity.mrsigner.fill(0xab);
  identity.isvprodid = 1;
  identity.attributes[0] = 0x11;
  identity.attributes_mask[0] = 0xfb;
  identity.levels = {{8, "", TcbStatus::kUpToDate, {}},
                     {6, "", TcbStatus::kOutOfDate, {"INTEL-SA-00615"}}};
  SgxReportBody qe;
  qe.mrsigner.fill(0xab);
  qe.isvprodid = 1;
  qe.attributes[0] = 0x15;  // bit 2 is masked out
  qe.isvsvn = 8;
  EXPECT_EQ(EvaluateQeIdentity(identity, qe)->status, TcbStatus::kUpToDate);
  qe.isvsvn = 7;
  EXPECT_EQ(EvaluateQeIdentity(identity, qe)->status, TcbStatus::kOutOfDate);
  qe.isvsvn = 5;
  EXPECT_FALSE(EvaluateQeIdentity(identity, qe).ok());
  qe.isvsvn = 8;
  qe.attributes[0] = 0x13;  // DEBUG set in the QE: refused
  EXPECT_FALSE(EvaluateQeIdentity(identity, qe).ok());
  qe.attributes[0] = 0x11;
  qe.mrsigner[31] = 0;
  EXPECT_EQ(EvaluateQeIdentity(identity, qe).status().message().rfind("qe-identity: ", 0), 0u);
}

TEST(TcbEvaluationTest, ConvergesOutOfDateComponentsLikeIntelsQvl) {
  auto verdict = [](TcbStatus s, std::vector<std::string> ids = {}) {
    return TcbVerdict{s, std::move(ids), ""};
  };
  TcbVerdict qe_ok = verdict(TcbStatus::kUpToDate);
  TcbVerdict qe_old = verdict(TcbStatus::kOutOfDate, {"INTEL-SA-Q"});
  EXPECT_EQ(CombineTcbVerdicts(verdict(TcbStatus::kSWHardeningNeeded), nullptr, qe_ok).status,
            TcbStatus::kSWHardeningNeeded);
  EXPECT_EQ(CombineTcbVerdicts(verdict(TcbStatus::kUpToDate), nullptr, qe_old).status,
            TcbStatus::kOutOfDate);
  EXPECT_EQ(
      CombineTcbVerdicts(verdict(TcbStatus::kConfigurationAndSWHardeningNeeded), nullptr, qe_old)
          .status,
      TcbStatus::kOutOfDateConfigurationNeeded);
  EXPECT_EQ(CombineTcbVerdicts(verdict(TcbStatus::kUpToDate), nullptr, verdict(TcbStatus::kRevoked))
                .status,
            TcbStatus::kRevoked);
  TcbVerdict module_old = verdict(TcbStatus::kOutOfDate, {"INTEL-SA-M", "INTEL-SA-P"});
  auto combined = CombineTcbVerdicts(verdict(TcbStatus::kConfigurationNeeded, {"INTEL-SA-P"}),
                                     &module_old, qe_old);
  EXPECT_EQ(combined.status, TcbStatus::kOutOfDateConfigurationNeeded);
  EXPECT_EQ(combined.advisories,
            (std::vector<std::string>{"INTEL-SA-P", "INTEL-SA-M", "INTEL-SA-Q"}));
}

}  // namespace
}  // namespace cove::attestation
