// File: messaging_repository.h
// The WhatsApp path as stored, one interface per concern along the data
// flow: channels, outbound messages, inbound messages, history, the
// outbox, tenant keys. Store exposes each on its own (store.h); a backend
// may implement them on one object, as SQLite does through this aggregate,
// or on several.
#pragma once

#include "store/channel_repository.h"
#include "store/history_repository.h"
#include "store/inbound_repository.h"
#include "store/outbound_repository.h"
#include "store/outbox_repository.h"
#include "store/tenant_key_repository.h"

namespace cs {

class MessagingRepository : public ChannelRepository,
                            public OutboundRepository,
                            public InboundRepository,
                            public HistoryRepository,
                            public OutboxRepository,
                            public TenantKeyRepository {};

}  // namespace cs
