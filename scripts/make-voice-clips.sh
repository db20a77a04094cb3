#!/usr/bin/env bash
# Regenerates the Vietnamese voice clips in assets/voice/vi/ from clips.tsv, fully offline:
# each word with espeak-ng's Vietnamese voice, the chime with sox. Needs the Debian packages espeak-ng and
# sox. Output: 16 kHz, mono, 16-bit PCM WAV, silence trimmed at both ends, peak-normalised to -1 dBFS.
#   bash scripts/make-voice-clips.sh            # all clips
#   SPEED=130 bash scripts/make-voice-clips.sh  # another speaking rate (words per minute; default 140)
set -euo pipefail
cd "$(dirname "$0")/../assets/voice/vi"

SPEED="${SPEED:-140}"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y espeak-ng sox" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Trim leading and trailing silence (below 0.5% for 20 ms), then resample and normalise.
finish() { sox "$1" -r 16000 -c 1 -b 16 "$2" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -1; }

while IFS=$'\t' read -r token file text; do
  [[ -z "$token" || "$token" == \#* ]] && continue
  if [[ "$token" == chime ]]; then
    # Ding-dong: E5 then C5, each a sine with a quick attack and a 0.5 s fade, at half amplitude.
    sox -n -r 16000 -c 1 -b 16 "$tmp/ding.wav" synth 0.55 sine 659.25 fade q 0.005 0.55 0.5 vol 0.5
    sox -n -r 16000 -c 1 -b 16 "$tmp/dong.wav" synth 0.75 sine 523.25 fade q 0.005 0.75 0.7 vol 0.5
    sox "$tmp/ding.wav" "$tmp/dong.wav" "$file"
  else
    espeak-ng -v vi -s "$SPEED" -w "$tmp/raw.wav" "$text"
    finish "$tmp/raw.wav" "$file"
  fi
  printf '%-14s %-18s %ss\n' "$token" "$file" "$(soxi -D "$file")"
done < clips.tsv
echo "espeak-ng: $(espeak-ng --version | head -1)"
echo "sox: $(sox --version | head -1)"
