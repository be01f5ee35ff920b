// memif pods (agent_memif.cpp): the net_memif devargs podlaned probes.
#pragma once

#include <cstdint>
#include <string>

#include "control/config/config.h"

namespace podlane {

/// "net_memif_pl<seq>,role=...,socket=...,id=0,socket-abstract=no,rsize=...[,zero-copy=yes]"
/// for `ep` (its memif_socket set); `ring_size` (a power of two) sizes the
/// rings when podlaned is the client, which allocates them.
std::string memif_devargs(uint32_t seq, const EndpointConfig& ep, uint16_t ring_size);

} // namespace podlane
