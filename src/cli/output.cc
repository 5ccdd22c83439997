#include "cli/output.h"

#include <iostream>

#include "common/json_writer.h"
#include "common/strings.h"

namespace cs::cli_internal {

int PrintError(const Status& status, bool json) {
  if (json) {
    JsonWriter w;
    w.BeginObject().Key("error").BeginObject();
    w.Key("code").String(status.machine_code()).Key("message").String(status.message());
    w.EndObject().EndObject();
    std::cout << w.str() << std::endl;
  } else {
    std::cerr << "error: " << status.machine_code() << ": " << status.message() << std::endl;
  }
  return status.machine_code() == "invalid_config" ? 2 : 1;
}

std::string TenantJson(const Tenant& t) {
  JsonWriter w;
  w.BeginObject().Key("id").String(t.id).Key("name").String(t.name);
  w.Key("created_at").String(FormatRfc3339Millis(t.created_at_ms));
  w.Key("audit_retention_days");
  if (t.audit_retention_days) w.Int(*t.audit_retention_days);
  else w.Null();
  w.EndObject();
  return w.Take();
}

}  // namespace cs::cli_internal
