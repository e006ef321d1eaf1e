// The parts a loaded Tokenizer is made of; shared by tokenizer.cpp (encode, decode) and
// tokenizer_load.cpp (building them from tokenizer.json). Not for use outside the tokenizer.
#pragma once

#include <unordered_map>
#include <vector>

#include "runtime-min/tokenizer.h"
#include "runtime-min/tokenizer_added.h"
#include "runtime-min/tokenizer_bpe.h"
#include "runtime-min/tokenizer_decode.h"
#include "runtime-min/tokenizer_normalize.h"
#include "runtime-min/tokenizer_pretokenize.h"

namespace moedist {

struct Tokenizer::Impl {
  std::string source;
  BpeModel model;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  TokenDecoder decoder;
  std::vector<AddedToken> added;
  std::unordered_map<int32_t, size_t> added_by_id;  // id -> index into `added`
  AddedTokenMatcher raw_matcher;                    // tokens with normalized == false
  AddedTokenMatcher normalized_matcher;  // tokens with normalized == true, normalized content
  int32_t vocab_size = 0;
};

}  // namespace moedist
