# Refuse, before changing anything, an existing account that is not an
# attendee's: a system one (UID below 1000) or one whose home is not a
# directory right under /home (the reset empties it; /dev, /usr/sbin, /).
if E=$(getent passwd "$U"); then
  uid=$(printf '%s\n' "$E" | cut -d: -f3)
  home=$(printf '%s\n' "$E" | cut -d: -f6)
  case "$uid" in ''|*[!0-9]*) echo "login $U: UID $uid is not a number; refusing to touch it" >&2; exit 3;; esac
  if [ "$uid" -lt 1000 ]; then echo "login $U is a system account (UID $uid); refusing to touch it" >&2; exit 3; fi
  case "$home" in
    /home/.|/home/..|/home/*/*|/home/*[!A-Za-z0-9._-]*) bad=1 ;;
    /home/?*) bad= ;;
    *) bad=1 ;;
  esac
  # A home that is a symbolic link (to /etc, say) is not under /home.
  if [ -z "$bad" ] && [ -L "$home" ]; then bad=1; fi
  if [ -n "$bad" ]; then echo "login $U has its home at $home, not under /home; refusing to touch it" >&2; exit 3; fi
fi
