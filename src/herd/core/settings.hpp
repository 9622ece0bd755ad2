#pragma once
// Typed settings: a settings struct whose knobs are declared once each, the option (key,
// type, default, range, help; core/options.hpp) and the member it sets, in the struct's
// static knobs() list:
//
//   struct MySettings {
//     std::int64_t period{};  // values come from the options' declared defaults
//     static const Knobs<MySettings>& knobs();
//     void resolve(const Context& c);  // optional: context-dependent defaults, then rules
//   };
//   const Knobs<MySettings>& MySettings::knobs() {
//     static const auto k = Knobs<MySettings>().add(integer("algo.period", 8, "...").ge(1),
//                                                   &MySettings::period);
//     return k;
//   }
//
// Settings are made from explicit option values: each value is validated against its option
// (InvalidInput naming the key) and every other knob takes its declared default. The
// algorithms (algo/settings.hpp) and the models (model/registry.hpp) declare theirs so.
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/core/options.hpp"

namespace herd {

// Explicit option values by key ("algo.period"); options not named take their declared
// defaults.
using OptionValues = std::map<std::string, Value, std::less<>>;

// The options a settings struct S reads, and the member of S each one sets.
template <class S>
class Knobs {
 public:
  // The option sets `member`: a bool from a boolean option, an integer (std::int64_t or int)
  // from an integer option, a double or float from a number option, a std::string from a
  // string option, or std::optional<double> from a number option given explicitly (nullopt
  // when it is not: for defaults that depend on the job).
  // The member may be one of a base of S.
  template <class M, class B>
  requires std::derived_from<S, B> Knobs& add(OptionSpec spec, M B::*member) {
    Type type = Type::number;
    double largest = std::numeric_limits<double>::infinity();
    if constexpr (std::is_same_v<M, bool>) {
      type = Type::boolean;
    } else if constexpr (std::is_same_v<M, std::string>) {
      type = Type::string;
    } else if constexpr (std::is_integral_v<M>) {
      type = Type::integer;
      largest = static_cast<double>(std::numeric_limits<M>::max());
    }
    if (spec.type != type)
      throw std::logic_error("Knobs: " + spec.key + " does not fit the member it sets");
    auto set = [member](S& s, const Value& v, bool given) {
      if constexpr (std::is_same_v<M, std::optional<double>>) {
        if (given) s.*member = std::get<double>(v);
      } else if constexpr (std::is_same_v<M, bool> || std::is_same_v<M, std::string>) {
        s.*member = std::get<M>(v);
      } else if constexpr (std::is_integral_v<M>) {
        s.*member = static_cast<M>(std::get<std::int64_t>(v));
      } else {
        s.*member = static_cast<M>(std::get<double>(v));
      }
    };
    auto get = [member](const S& s) -> std::optional<Value> {
      if constexpr (std::is_same_v<M, std::optional<double>>) {
        if (!(s.*member)) return std::nullopt;
        return Value(*(s.*member));
      } else if constexpr (std::is_same_v<M, bool> || std::is_same_v<M, std::string>) {
        return Value(s.*member);
      } else if constexpr (std::is_integral_v<M>) {
        return Value(static_cast<std::int64_t>(s.*member));
      } else {
        return Value(static_cast<double>(s.*member));
      }
    };
    knobs_.push_back({std::move(spec), std::move(set), std::move(get), largest});
    return *this;
  }
  // A choice option that sets a flag: member = (value == when).
  template <class B>
  requires std::derived_from<S, B> Knobs& add(OptionSpec spec, bool B::*member, std::string when) {
    const auto& c = spec.choices;
    if (spec.type != Type::string || std::find(c.begin(), c.end(), when) == c.end())
      throw std::logic_error("Knobs: " + spec.key + " has no choice " + when);
    auto set = [member, when](S& s, const Value& v, bool) {
      s.*member = std::get<std::string>(v) == when;
    };
    const auto other = std::find_if(c.begin(), c.end(), [&](const auto& x) { return x != when; });
    const std::string otherwise = other == c.end() ? when : *other;
    auto get = [member, when, otherwise](const S& s) -> std::optional<Value> {
      return Value(s.*member ? when : otherwise);
    };
    knobs_.push_back({std::move(spec), std::move(set), std::move(get), 0.0});
    return *this;
  }

  // Every knob of a base's settings, bound to the base part of S.
  template <class B>
  requires std::derived_from<S, B> Knobs& include(const Knobs<B>& base) {
    for (const auto& k : base.knobs_)
      knobs_.push_back({k.spec,
                        [set = k.set](S& s, const Value& v, bool given) { set(s, v, given); },
                        [get = k.get](const S& s) { return get(s); }, k.largest});
    return *this;
  }

  // The options, in declaration order.
  std::vector<const OptionSpec*> specs() const {
    std::vector<const OptionSpec*> out;
    for (const Knob& k : knobs_) out.push_back(&k.spec);
    return out;
  }

  // S from explicit values: those of its options are validated (InvalidInput naming the
  // key), its other options take their defaults; keys S does not read are ignored.
  S make(const OptionValues& values) const {
    S s{};
    for (const Knob& k : knobs_) {
      const auto it = values.find(k.spec.key);
      if (it == values.end()) {
        k.set(s, k.spec.default_value, false);
        continue;
      }
      const Value v = validate(k.spec, it->second, "");
      if (const auto* n = std::get_if<std::int64_t>(&v); n && static_cast<double>(*n) > k.largest)
        throw InvalidInput(k.spec.key + " = " + std::to_string(*n) + " is too large");
      k.set(s, v, true);
    }
    return s;
  }

  // The options whose member differs between `before` and `after` (e.g. a resolve() that
  // turned "0 = every period" into the period), with their values in `after`.
  OptionValues changed(const S& before, const S& after) const {
    OptionValues out;
    for (const Knob& k : knobs_) {
      const std::optional<Value> now = k.get(after);
      if (now && now != k.get(before)) out[k.spec.key] = *now;
    }
    return out;
  }

 private:
  template <class>
  friend class Knobs;
  struct Knob {
    OptionSpec spec;
    std::function<void(S&, const Value&, bool given)> set;
    std::function<std::optional<Value>(const S&)> get;  // nullopt: an optional not set
    double largest;  // integer members: the largest value the member holds
  };
  std::vector<Knob> knobs_;
};

// The settings of something without knobs.
struct NoSettings {
  static const Knobs<NoSettings>& knobs() {
    static const Knobs<NoSettings> none;
    return none;
  }
};

}  // namespace herd
