// File: cloud_api.h
// Meta's WhatsApp Cloud API as a provider (provider/provider.h): Graph's
// messages endpoint, its bearer token, its error codes read into retry
// rules (spec §4), its success bodies into a wamid.
#pragma once

#include <cstdint>
#include <memory>

#include "provider/provider.h"

namespace cs::whatsapp {

// One adapter per dispatcher worker; each call waits at most `timeout_ms`.
std::unique_ptr<Provider> CreateCloudApiProvider(int64_t timeout_ms);

}  // namespace cs::whatsapp
