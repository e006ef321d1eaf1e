// Degeneracy measures of generated text, for "greedy generation does not collapse into loops".
//   distinct-n: distinct n-grams / n-grams (1 = no repetition; 1 when there are no n-grams).
//   longest repeated n-gram: the largest n such that some n-gram occurs at two different
//     start positions (occurrences may overlap: "a b a b a" repeats "a b a").
#pragma once

#include <cstdint>
#include <span>

namespace moedist {

double DistinctN(std::span<const int32_t> tokens, int n);
int LongestRepeatedNgram(std::span<const int32_t> tokens);

struct DegeneracyStats {
  double distinct_1 = 1, distinct_2 = 1, distinct_3 = 1;
  int longest_repeated_ngram = 0;
};
DegeneracyStats MeasureDegeneracy(std::span<const int32_t> tokens);

}  // namespace moedist
