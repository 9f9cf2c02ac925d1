/* vm_values.c — time, equality and ordering of JSON values for the VM. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vm.h"

const char vm_missing_sentinel = 0;   /* only its address matters */

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int vm_parse_time(const char *s, int64_t *ms) {
  int y, mo, d, h, mi, sec;
  if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
      digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
      s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  const char *p = s + 19;
  int frac = 0;
  if (*p == '.') {
    int n = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, n++)
      if (n < 3) frac = frac * 10 + (*p - '0');
    if (n == 0) return -1;
    for (; n < 3; n++) frac *= 10;
  }
  int offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59) return -1;
    offset = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return -1;
  }
  if (*p) return -1;
  int64_t days = days_from_civil(y, mo, d);
  *ms = ((days * 24 + h) * 60 + mi - offset) * 60000 + (int64_t)sec * 1000 + frac;
  return 0;
}

static char *put_digits(char *p, int v, int n) {
  for (int i = n - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
  return p + n;
}

void vm_format_time(int64_t ms, char *buf, size_t size) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int frac = (int)(ms - secs * 1000);
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999 || size < 25) {   /* the rare cases: snprintf */
    snprintf(buf, size, frac ? "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" : "%04d-%02d-%02dT%02d:%02d:%02dZ", year,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return;
  }
  /* Written by hand: this runs for every emitted event, and snprintf
   * would cost more than building the event. */
  char *p = put_digits(buf, year, 4);
  *p++ = '-';
  p = put_digits(p, tm.tm_mon + 1, 2);
  *p++ = '-';
  p = put_digits(p, tm.tm_mday, 2);
  *p++ = 'T';
  p = put_digits(p, tm.tm_hour, 2);
  *p++ = ':';
  p = put_digits(p, tm.tm_min, 2);
  *p++ = ':';
  p = put_digits(p, tm.tm_sec, 2);
  if (frac) {
    *p++ = '.';
    p = put_digits(p, frac, 3);
  }
  *p++ = 'Z';
  *p = 0;
}

static int is_number(struct json_object *v) {
  return v && v != VM_MISSING && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

static int number_cmp(struct json_object *a, struct json_object *b) {
  if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int)) {
    int64_t x = json_object_get_int64(a), y = json_object_get_int64(b);
    return x < y ? -1 : x > y;
  }
  double x = json_object_get_double(a), y = json_object_get_double(b);
  return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;   /* NaN cannot be ordered */
}

int vm_compare(struct json_object *a, struct json_object *b) {
  if (!a || !b || a == VM_MISSING || b == VM_MISSING) return 2;
  if (is_number(a) && is_number(b)) return number_cmp(a, b);
  if (json_object_is_type(a, json_type_string) && json_object_is_type(b, json_type_string)) {
    const char *x = json_object_get_string(a), *y = json_object_get_string(b);
    int64_t tx, ty;
    if (vm_parse_time(x, &tx) == 0 && vm_parse_time(y, &ty) == 0) return tx < ty ? -1 : tx > ty;
    int la = json_object_get_string_len(a), lb = json_object_get_string_len(b);
    int c = memcmp(x, y, (size_t)(la < lb ? la : lb));
    return c < 0 ? -1 : c > 0 ? 1 : la < lb ? -1 : la > lb;
  }
  if (json_object_is_type(a, json_type_boolean) && json_object_is_type(b, json_type_boolean))
    return json_object_get_boolean(a) - json_object_get_boolean(b);
  return 2;
}

int vm_equal(struct json_object *a, struct json_object *b) {
  if (a == VM_MISSING || b == VM_MISSING) return 0;
  if (!a || !b) return a == b;
  if (is_number(a) && is_number(b)) return number_cmp(a, b) == 0;
  if (json_object_get_type(a) != json_object_get_type(b)) return 0;
  switch (json_object_get_type(a)) {
  case json_type_string:
    return json_object_get_string_len(a) == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b), (size_t)json_object_get_string_len(a)) == 0;
  case json_type_boolean:
    return json_object_get_boolean(a) == json_object_get_boolean(b);
  case json_type_array: {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b)) return 0;
    for (size_t i = 0; i < n; i++)
      if (!vm_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i))) return 0;
    return 1;
  }
  case json_type_object: {
    if (json_object_object_length(a) != json_object_object_length(b)) return 0;
    json_object_object_foreach(a, k, va) {
      struct json_object *vb;
      if (!json_object_object_get_ex(b, k, &vb) || !vm_equal(va, vb)) return 0;
    }
    return 1;
  }
  default:
    return 1;
  }
}
