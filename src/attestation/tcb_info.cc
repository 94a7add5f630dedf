// Parsing of Intel's TCB info v3 and enclave identity v2 JSON texts with nlohmann::json, without
// exceptions: every field is type-checked before it is read, and errors name the field.
#include "attestation/tcb_info.h"

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/hex.h"

namespace cove::attestation {
namespace {

using Json = nlohmann::json;

// Reads fields of one JSON object; `step` prefixes every error ("tcb-info", "qe-identity").
class FieldReader {
 public:
  FieldReader(const Json& object, std::string step, std::string path)
      : object_(object), step_(std::move(step)), path_(std::move(path)) {}

  Status Error(const std::string& what) const {
    return InvalidArgument(step_ + ": " + (path_.empty() ? "" : path_ + ".") + what);
  }
  Result<const Json*> Field(const char* key, bool required = true) const {
    if (!object_.is_object()) return Error(std::string(key) + ": parent is not an object");
    auto it = object_.find(key);
    if (it == object_.end()) {
      if (required) return Error(std::string(key) + " is missing");
      return static_cast<const Json*>(nullptr);
    }
    return &*it;
  }
  Result<std::string> String(const char* key) const {
    COVE_ASSIGN_OR_RETURN(const Json* v, Field(key));
    if (!v->is_string()) return Error(std::string(key) + " is not a string");
    return v->get<std::string>();
  }
  Result<uint32_t> Unsigned(const char* key, uint32_t max) const {
    COVE_ASSIGN_OR_RETURN(const Json* v, Field(key));
    if (!v->is_number_unsigned() || v->get<uint64_t>() > max) {
      return Error(std::string(key) + " is not an integer in 0.." + std::to_string(max));
    }
    return static_cast<uint32_t>(v->get<uint64_t>());
  }
  template <size_t N>
  Result<std::array<uint8_t, N>> Hex(const char* key) const {
    COVE_ASSIGN_OR_RETURN(std::string text, String(key));
    auto bytes = HexDecode(text, key);
    if (!bytes.ok() || bytes->size() != N) {
      return Error(std::string(key) + " is not " + std::to_string(N) + " bytes of hex");
    }
    std::array<uint8_t, N> out;
    std::memcpy(out.data(), bytes->data(), N);
    return out;
  }
  Result<std::time_t> Time(const char* key) const {
    COVE_ASSIGN_OR_RETURN(std::string text, String(key));
    auto time = ParseIntelTimestamp(text);
    if (!time.ok()) return Error(std::string(key) + " is not a UTC timestamp");
    return *time;
  }
  Result<const Json*> Array(const char* key, bool required = true) const {
    COVE_ASSIGN_OR_RETURN(const Json* v, Field(key, required));
    if (v != nullptr && !v->is_array()) return Error(std::string(key) + " is not an array");
    return v;
  }
  FieldReader Child(const Json& child, const std::string& name) const {
    return FieldReader(child, step_, path_.empty() ? name : path_ + "." + name);
  }

 private:
  const Json& object_;
  std::string step_;
  std::string path_;
};

Result<TcbStatus> LevelStatus(const FieldReader& level) {
  COVE_ASSIGN_OR_RETURN(std::string name, level.String("tcbStatus"));
  auto status = ParseTcbStatus(name);
  if (!status || *status == TcbStatus::kNotSupported) {
    return level.Error("tcbStatus \"" + name + "\" is unknown");
  }
  return *status;
}

Result<std::vector<std::string>> Advisories(const FieldReader& level) {
  COVE_ASSIGN_OR_RETURN(const Json* ids, level.Array("advisoryIDs", /*required=*/false));
  std::vector<std::string> out;
  if (ids == nullptr) return out;
  for (const Json& id : *ids) {
    if (!id.is_string()) return level.Error("advisoryIDs holds a non-string");
    out.push_back(id.get<std::string>());
  }
  return out;
}

// [{"svn": n, ...} x16] into 16 SVN bytes.
Result<std::array<uint8_t, 16>> Components(const FieldReader& tcb, const char* key) {
  COVE_ASSIGN_OR_RETURN(const Json* list, tcb.Array(key));
  if (list->size() != 16) return tcb.Error(std::string(key) + " must have 16 entries");
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < 16; ++i) {
    FieldReader component = tcb.Child((*list)[i], std::string(key) + "[" + std::to_string(i) + "]");
    COVE_ASSIGN_OR_RETURN(uint32_t svn, component.Unsigned("svn", 255));
    out[i] = static_cast<uint8_t>(svn);
  }
  return out;
}

Result<std::vector<EnclaveTcbLevel>> EnclaveLevels(const FieldReader& parent) {
  COVE_ASSIGN_OR_RETURN(const Json* list, parent.Array("tcbLevels"));
  std::vector<EnclaveTcbLevel> levels;
  for (size_t i = 0; i < list->size(); ++i) {
    FieldReader level = parent.Child((*list)[i], "tcbLevels[" + std::to_string(i) + "]");
    COVE_ASSIGN_OR_RETURN(const Json* tcb_json, level.Field("tcb"));
    FieldReader tcb = level.Child(*tcb_json, "tcb");
    EnclaveTcbLevel out;
    COVE_ASSIGN_OR_RETURN(uint32_t isvsvn, tcb.Unsigned("isvsvn", 65535));
    out.isvsvn = static_cast<uint16_t>(isvsvn);
    COVE_ASSIGN_OR_RETURN(out.tcb_date, level.String("tcbDate"));
    COVE_ASSIGN_OR_RETURN(out.status, LevelStatus(level));
    COVE_ASSIGN_OR_RETURN(out.advisories, Advisories(level));
    levels.push_back(std::move(out));
  }
  if (levels.empty()) return parent.Error("tcbLevels is empty");
  return levels;
}

Result<TdxModuleIdentity> ModuleIdentity(const FieldReader& module, bool with_levels) {
  TdxModuleIdentity out;
  if (with_levels) {
    COVE_ASSIGN_OR_RETURN(out.id, module.String("id"));
    COVE_ASSIGN_OR_RETURN(out.levels, EnclaveLevels(module));
  }
  COVE_ASSIGN_OR_RETURN(out.mrsigner, module.Hex<48>("mrsigner"));
  COVE_ASSIGN_OR_RETURN(out.attributes, module.Hex<8>("attributes"));
  COVE_ASSIGN_OR_RETURN(out.attributes_mask, module.Hex<8>("attributesMask"));
  return out;
}

Result<Json> ParseObject(std::string_view text, const char* step) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument(std::string(step) + ": not a JSON object");
  }
  return json;
}

}  // namespace

Result<std::time_t> ParseIntelTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z, nothing else.
  std::string s(text);
  int year, month, day, hour, minute, second, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6 ||
      consumed != 19) {
    return InvalidArgument("bad timestamp \"" + s + "\"");
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  if (pos + 1 != s.size() || s[pos] != 'Z' || month < 1 || month > 12 || day < 1 || day > 31 ||
      hour > 23 || minute > 59 || second > 60 || year < 1970) {
    return InvalidArgument("bad timestamp \"" + s + "\"");
  }
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return timegm(&tm);
}

std::string FormatIntelTimestamp(std::time_t time) {
  struct tm tm {};
  gmtime_r(&time, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<TcbInfo> ParseTcbInfo(std::string_view text) {
  COVE_ASSIGN_OR_RETURN(Json json, ParseObject(text, "tcb-info"));
  FieldReader root(json, "tcb-info", "");
  TcbInfo info;
  COVE_ASSIGN_OR_RETURN(info.id, root.String("id"));
  COVE_ASSIGN_OR_RETURN(info.version, root.Unsigned("version", 1000));
  if (info.version != 3) {
    return root.Error("version " + std::to_string(info.version) + " is unsupported (need 3)");
  }
  COVE_ASSIGN_OR_RETURN(info.issue_date, root.Time("issueDate"));
  COVE_ASSIGN_OR_RETURN(info.next_update, root.Time("nextUpdate"));
  COVE_ASSIGN_OR_RETURN(info.fmspc, root.Hex<6>("fmspc"));
  COVE_ASSIGN_OR_RETURN(info.pceid, root.Hex<2>("pceId"));
  COVE_ASSIGN_OR_RETURN(uint32_t tcb_type, root.Unsigned("tcbType", 1000));
  if (tcb_type != 0) return root.Error("tcbType " + std::to_string(tcb_type) + " is unsupported");
  COVE_ASSIGN_OR_RETURN(info.tcb_evaluation_data_number,
                        root.Unsigned("tcbEvaluationDataNumber", UINT32_MAX));
  bool tdx = info.id == "TDX";
  if (!tdx && info.id != "SGX") return root.Error("id \"" + info.id + "\" is not SGX or TDX");

  if (tdx) {
    COVE_ASSIGN_OR_RETURN(const Json* module, root.Field("tdxModule"));
    COVE_ASSIGN_OR_RETURN(info.tdx_module, ModuleIdentity(root.Child(*module, "tdxModule"), false));
    COVE_ASSIGN_OR_RETURN(const Json* identities, root.Array("tdxModuleIdentities", false));
    if (identities != nullptr) {
      for (size_t i = 0; i < identities->size(); ++i) {
        FieldReader identity =
            root.Child((*identities)[i], "tdxModuleIdentities[" + std::to_string(i) + "]");
        COVE_ASSIGN_OR_RETURN(auto parsed, ModuleIdentity(identity, true));
        info.tdx_module_identities.push_back(std::move(parsed));
      }
    }
  }

  COVE_ASSIGN_OR_RETURN(const Json* levels, root.Array("tcbLevels"));
  for (size_t i = 0; i < levels->size(); ++i) {
    FieldReader level = root.Child((*levels)[i], "tcbLevels[" + std::to_string(i) + "]");
    COVE_ASSIGN_OR_RETURN(const Json* tcb_json, level.Field("tcb"));
    FieldReader tcb = level.Child(*tcb_json, "tcb");
    TcbLevel out;
    COVE_ASSIGN_OR_RETURN(out.sgx_components, Components(tcb, "sgxtcbcomponents"));
    COVE_ASSIGN_OR_RETURN(uint32_t pcesvn, tcb.Unsigned("pcesvn", 65535));
    out.pcesvn = static_cast<uint16_t>(pcesvn);
    if (tdx) {
      COVE_ASSIGN_OR_RETURN(out.tdx_components, Components(tcb, "tdxtcbcomponents"));
    }
    COVE_ASSIGN_OR_RETURN(out.tcb_date, level.String("tcbDate"));
    COVE_ASSIGN_OR_RETURN(out.status, LevelStatus(level));
    COVE_ASSIGN_OR_RETURN(out.advisories, Advisories(level));
    info.levels.push_back(std::move(out));
  }
  if (info.levels.empty()) return root.Error("tcbLevels is empty");
  return info;
}

Result<QeIdentity> ParseQeIdentity(std::string_view text) {
  COVE_ASSIGN_OR_RETURN(Json json, ParseObject(text, "qe-identity"));
  FieldReader root(json, "qe-identity", "");
  QeIdentity identity;
  COVE_ASSIGN_OR_RETURN(identity.id, root.String("id"));
  if (identity.id != "QE" && identity.id != "TD_QE") {
    return root.Error("id \"" + identity.id + "\" is not QE or TD_QE");
  }
  COVE_ASSIGN_OR_RETURN(identity.version, root.Unsigned("version", 1000));
  if (identity.version != 2) {
    return root.Error("version " + std::to_string(identity.version) + " is unsupported (need 2)");
  }
  COVE_ASSIGN_OR_RETURN(identity.issue_date, root.Time("issueDate"));
  COVE_ASSIGN_OR_RETURN(identity.next_update, root.Time("nextUpdate"));
  COVE_ASSIGN_OR_RETURN(identity.tcb_evaluation_data_number,
                        root.Unsigned("tcbEvaluationDataNumber", UINT32_MAX));
  COVE_ASSIGN_OR_RETURN(auto miscselect, root.Hex<4>("miscselect"));
  COVE_ASSIGN_OR_RETURN(auto miscselect_mask, root.Hex<4>("miscselectMask"));
  // Intel writes MISCSELECT big-endian in hex; the report holds it as a little-endian u32.
  auto be32 = [](const std::array<uint8_t, 4>& b) {
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  };
  identity.miscselect = be32(miscselect);
  identity.miscselect_mask = be32(miscselect_mask);
  COVE_ASSIGN_OR_RETURN(identity.attributes, root.Hex<16>("attributes"));
  COVE_ASSIGN_OR_RETURN(identity.attributes_mask, root.Hex<16>("attributesMask"));
  COVE_ASSIGN_OR_RETURN(identity.mrsigner, root.Hex<32>("mrsigner"));
  COVE_ASSIGN_OR_RETURN(uint32_t isvprodid, root.Unsigned("isvprodid", 65535));
  identity.isvprodid = static_cast<uint16_t>(isvprodid);
  COVE_ASSIGN_OR_RETURN(identity.levels, EnclaveLevels(root));
  return identity;
}

}  // namespace cove::attestation
