// File: message_state.h
// A sent message's exposed state from the statuses Meta reported
// (docs/messaging.md#states), and the gateway's failure codes for Meta's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>


namespace cs {

// Bits of MessageRecord::seen.
inline constexpr int64_t kSeenSent = 1;
inline constexpr int64_t kSeenDelivered = 2;
inline constexpr int64_t kSeenRead = 4;
inline constexpr int64_t kSeenFailed = 8;

// Returns the bit for a status webhook value ("played" counts as read), or 0.
int64_t StatusBit(std::string_view status);

// Returns the exposed state for the statuses seen so far (REQUIREMENTS
// B-07): read > delivered > failed > sent > `before` ("accepted" or
// "unknown"). It only moves forward, whatever the order of callbacks, and
// failed is final only when no delivered or read was seen.
std::string StateFor(int64_t seen, std::string_view before);

// Maps Meta's error code to the gateway's machine code for a failed message
// (docs/errors.md), e.g. 131047 → "template_required".
std::string FailureCodeFor(int provider_code);

}  // namespace cs
