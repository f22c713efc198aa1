#pragma once
/// Small text forms shared by the commands' output.

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <string>

namespace keypool::cli::detail {

inline std::string json_text(const boost::json::value& v) { return boost::json::serialize(v); }

/// Rounded to the nearest millisecond: "412 ms".
inline std::string ms_text(std::chrono::microseconds d) { return std::to_string((d.count() + 500) / 1000) + " ms"; }

}  // namespace keypool::cli::detail
