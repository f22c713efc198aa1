#pragma once
/// The core of keypool: pools, policies, statistics. Needs only the standard
/// library and Boost.Hana. The HTTP client is in <keypool/http.hpp>.

#include <keypool/clock/manual.hpp>
#include <keypool/clock/steady.hpp>
#include <keypool/clock/ticking.hpp>
#include <keypool/core/error.hpp>
#include <keypool/core/key.hpp>
#include <keypool/core/lease.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/core/policy.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/core/provider.hpp>
#include <keypool/core/stats.hpp>
#include <keypool/lockout/exponential.hpp>
#include <keypool/lockout/fixed.hpp>
#include <keypool/lockout/none.hpp>
#include <keypool/lockout/retry_after.hpp>
#include <keypool/report/text.hpp>
#include <keypool/selection/least_loaded.hpp>
#include <keypool/selection/random.hpp>
#include <keypool/selection/round_robin.hpp>
#include <keypool/selection/strict_round_robin.hpp>
#include <keypool/selection/weighted.hpp>
