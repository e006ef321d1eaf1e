{
  "algorithm": "ed25519",
  "key_id": "96b2fe274cd762e25c64aa275c9718062345d246ae16b47a4cc2268f1a0c9806",
  "signature": "OqfrvO6j6X4DR3n/SscAcfEa8CV46GIuQ3AWmuAblSue6Ism/SL70l7c/YdHiGXcmWTaLoiNKuldemqKspFzCQ=="
}
