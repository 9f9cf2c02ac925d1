/* test_pattern_validate.c — the EventBridge event-pattern validator.
 *
 * Table-driven: every row is one TAP test.  The "src" column names the
 * rule the row comes from:
 *   UG-syntax  User Guide, "Event patterns" / "Event pattern syntax"
 *   UG-null    User Guide, "Matching null values and empty strings"
 *   UG-arrays  User Guide, "Arrays in event patterns"
 *   UG-ops     User Guide, "Comparison operators for use in event patterns"
 *   UG-quotas  User Guide, "Amazon EventBridge quotas"
 *   ER-*       aws/event-ruler source (JsonRuleCompiler, ComparableNumber,
 *              Range, CIDR, WildcardParser, Constants)
 *   DIV        a documented divergence (see docs/patterns.md)
 *   RFC8259    JSON syntax
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

typedef struct {
    const char *json;
    const char *expect; /* NULL: valid; else a substring of the reason */
    const char *src;    /* the documentation rule */
    bool text_only;     /* invalid only as text (json-c would build a tree) */
} row;

/* ------------------------------------------------------------------ */
/* Patterns EventBridge accepts.                                      */

static const row valid_rows[] = {
    /* value lists */
    {"{\"source\":[\"aws.ec2\"]}", NULL, "UG-syntax: value to match is in a JSON array", false},
    {"{\"source\":[\"aws.ec2\",\"aws.fargate\"]}", NULL, "UG-syntax: several values, any may match", false},
    {"{\"source\":[\"aws.ec2\"],\"detail-type\":[\"EC2 Instance State-change Notification\"],"
     "\"detail\":{\"state\":[\"terminated\"]}}",
     NULL, "UG-syntax: the EC2 termination example", false},
    {"{\"detail\":{\"responseElements\":[null]}}", NULL, "UG-null: null matches null", false},
    {"{\"detail\":{\"eventVersion\":[\"\"]}}", NULL, "UG-null: empty string", false},
    {"{\"detail\":{\"risk-score\":[80],\"trigger\":{\"risk\":[8]}}}", NULL,
     "UG-syntax: numbers, nested fields", false},
    {"{\"detail\":{\"enabled\":[true,false]}}", NULL, "UG-syntax: true and false keywords", false},
    {"{\"detail\":{\"v\":[\"a\",1,2.5,true,null]}}", NULL, "UG-syntax: all JSON scalar types", false},
    {"{\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f\","
     "\"arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f\"]}",
     NULL, "UG-arrays: resources list", false},
    {"{\"account\":[123456789012]}", NULL, "ER-compiler: plain numbers are not range-checked", false},
    {"{\"id\":[123456789012345678901234]}", NULL, "ER-compiler: huge plain number is exact match only",
     false},
    {"{\"a\":{\"b\":{\"c\":{\"d\":[\"deep\"]}}}}", NULL, "UG-syntax: same nesting as the event", false},
    {"{\"detail\":{\"location\":[{\"prefix\":\"us-\"}],\"location\":[{\"anything-but\":\"us-east\"}]}}",
     NULL, "UG-ops: a repeated key, the last one is used", false},
    {"{\"detail\":{\"\":[\"x\"]}}", NULL, "ER-compiler: any field name, even empty", false},
    {"{\n  \"source\" : [ \"aws.s3\" ],\n\t\"detail\" : { \"k\" : [ 1 ] }\n}\n", NULL,
     "RFC8259: insignificant white space", false},
    {"{\"detail\":{\"name\":[\"caf\xc3\xa9 \xe2\x98\x95 \\u00e9 \\ud83d\\ude00\"]}}", NULL,
     "RFC8259: UTF-8 and \\u escapes in values", false},
    {"{\"detail\":{\"state\":[\"running\",{\"prefix\":\"stop\"},{\"anything-but\":\"x\"}]}}", NULL,
     "UG-ops: values and matchers in one list", false},
    /* prefix / suffix / equals-ignore-case */
    {"{\"time\":[{\"prefix\":\"2017-10-02\"}]}", NULL, "UG-ops: prefix matching", false},
    {"{\"source\":[\"aws.autoscaling\"],\"region\":[{\"prefix\":\"eu-\"}]}", NULL,
     "UG-ops: prefix example", false},
    {"{\"a\":[{\"prefix\":\"\"}]}", NULL, "ER-compiler: empty prefix compiles", false},
    {"{\"detail\":{\"service\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}}", NULL,
     "UG-ops: prefix matching while ignoring case", false},
    {"{\"FileName\":[{\"suffix\":\".png\"}]}", NULL, "UG-ops: suffix matching", false},
    {"{\"detail\":{\"FileName\":[{\"suffix\":{\"equals-ignore-case\":\".png\"}}]}}", NULL,
     "UG-ops: suffix matching while ignoring case", false},
    {"{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", NULL, "UG-ops: equals-ignore-case", false},
    /* anything-but */
    {"{\"detail\":{\"state\":[{\"anything-but\":\"initializing\"}]}}", NULL,
     "UG-ops: anything-but a string", false},
    {"{\"detail\":{\"x-limit\":[{\"anything-but\":123}]}}", NULL, "UG-ops: anything-but a number",
     false},
    {"{\"detail\":{\"state\":[{\"anything-but\":[\"stopped\",\"overloaded\"]}]}}", NULL,
     "UG-ops: anything-but a list of strings", false},
    {"{\"detail\":{\"x-limit\":[{\"anything-but\":[100,200,300]}]}}", NULL,
     "UG-ops: anything-but a list of numbers", false},
    {"{\"detail\":{\"state\":[{\"anything-but\":{\"prefix\":\"init\"}}]}}", NULL,
     "UG-ops: anything-but prefix", false},
    {"{\"FileName\":[{\"anything-but\":{\"suffix\":\".png\"}}]}", NULL, "UG-ops: anything-but suffix",
     false},
    {"{\"state\":[{\"anything-but\":{\"equals-ignore-case\":\"initializing\"}}]}", NULL,
     "UG-ops: anything-but ignoring case", false},
    {"{\"state\":[{\"anything-but\":{\"equals-ignore-case\":[\"initializing\",\"stopped\"]}}]}", NULL,
     "UG-ops: anything-but ignoring case, a list", false},
    {"{\"FilePath\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", NULL,
     "UG-ops: anything-but using a wildcard", false},
    {"{\"FilePath\":[{\"anything-but\":{\"wildcard\":[\"*/lib/*\",\"*/bin/*\"]}}]}", NULL,
     "UG-ops: anything-but wildcard list", false},
    {"{\"Region\":[{\"anything-but\":{\"prefix\":[\"us-\",\"eu-\"]}}]}", NULL,
     "ER-compiler: anything-but prefix list", false},
    {"{\"x\":[{\"anything-but\":[-1.5,0,2.25]}]}", NULL, "ER-number: anything-but decimals", false},
    {"{\"x\":[{\"anything-but\":\"\"}]}", NULL, "ER-compiler: anything-but empty string", false},
    /* numeric */
    {"{\"detail\":{\"c-count\":[{\"numeric\":[\">\",0,\"<=\",5]}],\"d-count\":[{\"numeric\":[\"<\",10]}],"
     "\"x-limit\":[{\"numeric\":[\"=\",3.018e2]}]}}",
     NULL, "UG-ops: the numeric matching example", false},
    {"{\"n\":[{\"numeric\":[\">=\",0]}]}", NULL, "UG-ops: numeric >= alone", false},
    {"{\"n\":[{\"numeric\":[\"<=\",-5]}]}", NULL, "UG-ops: numeric <= alone", false},
    {"{\"n\":[{\"numeric\":[\">\",-5000000000,\"<\",5000000000]}]}", NULL,
     "UG-ops: -5.0e9 and +5.0e9 inclusive", false},
    {"{\"n\":[{\"numeric\":[\"=\",5e9]}]}", NULL, "UG-ops: +5.0e9 written with an exponent", false},
    {"{\"n\":[{\"numeric\":[\"=\",0.000001]}]}", NULL, "UG-ops: six digits right of the point", false},
    {"{\"n\":[{\"numeric\":[\"=\",1.5000000]}]}", NULL, "ER-number: trailing zeros stripped", false},
    {"{\"n\":[{\"numeric\":[\">=\",1,\"<\",1.000001]}]}", NULL, "ER-number: bounds 1e-6 apart", false},
    {"{\"n\":[{\"numeric\":[\"=\",-0]}]}", NULL, "ER-number: negative zero", false},
    {"{\"n\":[{\"numeric\":[\"=\",123456789.123456]}]}", NULL, "UG-ops: 15 digits of precision", false},
    {"{\"n\":[{\"numeric\":[\"<\",1E+3]}]}", NULL, "RFC8259: exponent with sign", false},
    {"{\"price\":[{\"numeric\":[\"<\",10]},{\"numeric\":[\">\",100]}]}", NULL,
     "UG-syntax: two ranges, either may match", false},
    /* exists */
    {"{\"detail\":{\"state\":[{\"exists\":true}]}}", NULL, "UG-ops: exists true", false},
    {"{\"detail\":{\"c-count\":[{\"exists\":false}]}}", NULL, "UG-ops: exists false", false},
    /* cidr */
    {"{\"detail\":{\"sourceIPAddress\":[{\"cidr\":\"10.0.0.0/24\"}]}}", NULL,
     "UG-ops: IP address matching", false},
    {"{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", NULL, "UG-ops: IPv6 address matching", false},
    {"{\"ip\":[{\"cidr\":\"0.0.0.0/0\"}]}", NULL, "ER-cidr: mask 0", false},
    {"{\"ip\":[{\"cidr\":\"10.0.0.7/24\"}]}", NULL, "ER-cidr: host bits are floored", false},
    {"{\"ip\":[{\"cidr\":\"10.0.0.0/31\"}]}", NULL, "ER-cidr: largest IPv4 mask", false},
    {"{\"ip\":[{\"cidr\":\"FE80::1/127\"}]}", NULL, "ER-cidr: largest IPv6 mask, upper case", false},
    /* wildcard */
    {"{\"EventBusArn\":[{\"wildcard\":\"arn:aws:events:us-east-1:*:event-bus/*\"}]}", NULL,
     "UG-ops: wildcard matching", false},
    {"{\"f\":[{\"wildcard\":\"dir/*.png\"}]}", NULL, "UG-ops: wildcard file path", false},
    {"{\"f\":[{\"wildcard\":\"literal\\\\*star\"}]}", NULL, "UG-ops: \\* is a literal *", false},
    {"{\"f\":[{\"wildcard\":\"back\\\\\\\\slash*\"}]}", NULL, "UG-ops: \\\\ is a literal \\", false},
    {"{\"f\":[{\"wildcard\":\"*\"}]}", NULL, "UG-ops: a lone wildcard", false},
    {"{\"f\":[{\"wildcard\":\"a*b*c*d\"}]}", NULL, "UG-ops: any number of non-consecutive *", false},
    {"{\"f\":[{\"wildcard\":\"\\\\**\"}]}", NULL, "ER-wildcard: escaped * then *", false},
    /* $or */
    {"{\"detail\":{\"$or\":[{\"c-count\":[{\"numeric\":[\">\",0,\"<=\",5]}]},"
     "{\"d-count\":[{\"numeric\":[\"<\",10]}]},{\"x-limit\":[{\"numeric\":[\"=\",3.018e2]}]}]}}",
     NULL, "UG-ops: the $or example", false},
    {"{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPUUtilization\",\"ReadLatency\"]},"
     "{\"namespace\":[\"AWS/EC2\",\"AWS/ES\"]}]}",
     NULL, "ER-compiler: field AND $or", false},
    {"{\"source\":[\"aws.cloudwatch\"],\"$or\":[{\"metricName\":[\"CPUUtilization\"]},"
     "{\"metricType\":[\"MetricType\"],\"namespace\":[\"AWS/EC2\"],"
     "\"$or\":[{\"metricId\":[1234]},{\"spaceId\":[1000]}]},{\"scope\":[\"Service\"]}]}",
     NULL, "ER-compiler: nested $or inside $or", false},
    {"{\"$or\":[{\"metricName\":[\"a\"]},{\"namespace\":[\"b\"]}],"
     "\"detail\":{\"$or\":[{\"source\":[\"c\"]},{\"detail-type\":[\"d\"]}]}}",
     NULL, "ER-compiler: parallel $or", false},
    {"{\"$or\":[{\"detail\":{\"state\":[\"on\"]}},{\"detail\":{\"level\":[{\"numeric\":[\">\",3]}]}}]}",
     NULL, "UG-ops: $or members with nested objects", false},
    {"{\"p\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]},{\"e\":[0]},{\"f\":[0]},{\"g\":[0]},"
     "{\"h\":[0]},{\"i\":[0]},{\"j\":[0]}]},"
     "\"q\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]},{\"e\":[0]},{\"f\":[0]},{\"g\":[0]},"
     "{\"h\":[0]},{\"i\":[0]},{\"j\":[0]}]},"
     "\"r\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]},{\"e\":[0]},{\"f\":[0]},{\"g\":[0]},"
     "{\"h\":[0]},{\"i\":[0]},{\"j\":[0]}]}}",
     NULL, "ER-compiler: exactly 1000 $or combinations", false},
};

/* ------------------------------------------------------------------ */
/* Patterns EventBridge refuses.                                      */

static const row invalid_rows[] = {
    /* JSON and the root */
    {"{\"a\":[\"b\"]", "Filter is not valid JSON", "RFC8259: unterminated object", true},
    {"{\"a\":[NaN]}", "Filter is not valid JSON", "RFC8259: NaN is not JSON", true},
    {"{'a':['b']}", "Filter is not valid JSON", "RFC8259: single quotes", true},
    {"{\"a\":[\"b\",]}", "Filter is not valid JSON", "RFC8259: trailing comma", true},
    {"{\"a\":[\"b\"]} {\"c\":[\"d\"]}", "unexpected text after the pattern", "RFC8259: one value only",
     true},
    {"{\"a\":[\"tab\there\"]}", "control character in string", "RFC8259: raw control character",
     true},
    {"{\"a\":[01]}", "Filter is not valid JSON", "RFC8259: leading zero", true},
    {"[\"aws.ec2\"]", "Filter is not an object", "ER-compiler: Filter is not an object", false},
    {"\"aws.ec2\"", "Filter is not an object", "ER-compiler: Filter is not an object", false},
    {"null", "Filter is not an object", "ER-compiler: Filter is not an object", true},
    {"{}", "Empty objects are not allowed", "ER-compiler: empty pattern", false},
    {"{\"detail\":{}}", "Empty objects are not allowed at detail", "ER-compiler: empty nested object",
     false},
    {"{\"source\":\"aws.ec2\"}", "\"source\" must be an object or an array",
     "UG-syntax: values must be in an array", false},
    {"{\"a\":5}", "\"a\" must be an object or an array", "UG-syntax: values must be in an array", false},
    {"{\"a\":null}", "\"a\" must be an object or an array", "UG-syntax: values must be in an array",
     false},
    {"{\"a\":{\"prefix\":\"x\"}}", "\"prefix\" must be an object or an array",
     "UG-ops: comparison operators only work on leaf nodes", false},
    {"{\"a\":[]}", "Empty arrays are not allowed at a", "ER-compiler: empty value list", false},
    {"{\"a\":[[\"b\"]]}", "Match value must be String, number, true, false, or null",
     "ER-compiler: no nested arrays", false},
    {"{\"a\":[{}]}", "Match expression name not found", "ER-compiler: empty matcher", false},
    {"{\"a\":[{\"contains\":\"x\"}]}", "Unrecognized match type contains", "UG-ops: unknown operator",
     false},
    {"{\"a\":[{\"exactly\":\"x\"}]}", "Unrecognized match type exactly",
     "DIV: event-ruler's undocumented exactly", false},
    {"{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}", "Only one key allowed in match expression",
     "ER-compiler: one key per matcher", false},
    /* prefix / suffix / equals-ignore-case */
    {"{\"a\":[{\"prefix\":5}]}", "prefix match pattern must be a string", "UG-ops: prefix on strings",
     false},
    {"{\"a\":[{\"suffix\":[\"x\"]}]}", "suffix match pattern must be a string",
     "UG-ops: suffix on strings", false},
    {"{\"a\":[{\"prefix\":{\"wildcard\":\"x\"}}]}", "Unsupported prefix pattern: wildcard",
     "UG-ops: only equals-ignore-case nests in prefix", false},
    {"{\"a\":[{\"prefix\":{\"equals-ignore-case\":1}}]}",
     "equals-ignore-case match pattern must be a string", "UG-ops: prefix ignoring case takes a string",
     false},
    {"{\"a\":[{\"suffix\":{}}]}", "Suffix expression name not found", "ER-compiler: empty nested suffix",
     false},
    {"{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"a\",\"x\":1}}]}",
     "Only one key allowed in match expression", "ER-compiler: one key in nested prefix", false},
    {"{\"a\":[{\"equals-ignore-case\":[\"x\"]}]}", "equals-ignore-case match pattern must be a string",
     "UG-ops: equals-ignore-case takes a string", false},
    /* anything-but */
    {"{\"a\":[{\"anything-but\":true}]}",
     "Value of anything-but must be an array or single string/number value.",
     "UG-ops: anything-but strings and numbers only", false},
    {"{\"a\":[{\"anything-but\":[]}]}", "mixed type is not supported",
     "ER-compiler: empty anything-but list", false},
    {"{\"a\":[{\"anything-but\":[\"a\",1]}]}", "either all values are number or string",
     "UG-ops: lists of only strings or only numbers", false},
    {"{\"a\":[{\"anything-but\":[null]}]}", "Inside anything but list, start|null|boolean is not supported.",
     "ER-compiler: no null in anything-but list", false},
    {"{\"a\":[{\"anything-but\":{\"numeric\":[\">\",1]}}]}", "Unsupported anything-but pattern: numeric",
     "UG-ops: anything-but nests prefix/suffix/equals-ignore-case/wildcard", false},
    {"{\"a\":[{\"anything-but\":{\"prefix\":\"\"}}]}", "Null prefix/suffix not allowed",
     "ER-compiler: empty anything-but prefix", false},
    {"{\"a\":[{\"anything-but\":{\"suffix\":[\".png\",\"\"]}}]}", "Null prefix/suffix not allowed",
     "ER-compiler: empty anything-but suffix in a list", false},
    {"{\"a\":[{\"anything-but\":{\"equals-ignore-case\":[1]}}]}",
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
     "ER-compiler: anything-but ignore-case takes strings", false},
    {"{\"a\":[{\"anything-but\":{\"wildcard\":\"a**\"}}]}", "Consecutive wildcard characters at pos 2",
     "UG-ops: consecutive wildcards, under anything-but", false},
    {"{\"a\":[{\"anything-but\":{\"prefix\":{\"equals-ignore-case\":\"x\"}}}]}",
     "Value of anything-but must be an array or single string/number value.",
     "ER-compiler: no deeper nesting in anything-but", false},
    {"{\"a\":[{\"anything-but\":{}}]}", "Anything-But expression name not found",
     "ER-compiler: empty anything-but object", false},
    {"{\"a\":[{\"anything-but\":{\"prefix\":[]}}]}", "Empty arrays are not allowed",
     "DIV: empty anything-but prefix list", false},
    {"{\"a\":[{\"anything-but\":{\"prefix\":\"a\",\"suffix\":\"b\"}}]}",
     "Only one key allowed in match expression", "ER-compiler: one key in anything-but object", false},
    {"{\"a\":[{\"anything-but\":6e9}]}", "Value must be between -5.0E9 and 5.0E9, inclusive",
     "ER-number: anything-but numbers are range-checked", false},
    {"{\"a\":[{\"anything-but\":[1,2.0000001]}]}", "Only values upto 6 decimals are supported",
     "ER-number: anything-but list numbers, six decimals", false},
    /* numeric */
    {"{\"a\":[{\"numeric\":5}]}", "Value of numeric must be an array.", "UG-ops: numeric takes an array",
     false},
    {"{\"a\":[{\"numeric\":[]}]}", "Invalid member in numeric match: ]", "ER-compiler: empty numeric",
     false},
    {"{\"a\":[{\"numeric\":[5,\">\"]}]}", "Invalid member in numeric match: 5",
     "UG-ops: operator comes first", false},
    {"{\"a\":[{\"numeric\":[\"!=\",5]}]}", "Unrecognized numeric range operator: !=",
     "UG-ops: operators are = < <= > >=", false},
    {"{\"a\":[{\"numeric\":[\">\"]}]}", "Value of > must be numeric", "ER-compiler: operator needs a value",
     false},
    {"{\"a\":[{\"numeric\":[\"=\",\"5\"]}]}", "Value of equals must be numeric",
     "UG-ops: numeric works with JSON numbers", false},
    {"{\"a\":[{\"numeric\":[\"=\",5,\"<\",6]}]}", "Too many elements in numeric expression",
     "ER-compiler: = takes one value", false},
    {"{\"a\":[{\"numeric\":[\"<\",10,\">\",0]}]}", "Too many elements in numeric expression",
     "ER-compiler: a range starts with its lower bound", false},
    {"{\"a\":[{\"numeric\":[\">\",0,\">\",5]}]}", "Bad numeric range operator: >",
     "ER-compiler: upper bound is < or <=", false},
    {"{\"a\":[{\"numeric\":[\">\",0,5]}]}", "Bad value in numeric range: 5",
     "ER-compiler: upper bound needs an operator", false},
    {"{\"a\":[{\"numeric\":[\">\",0,\"<\"]}]}", "Value of < must be numeric",
     "ER-compiler: upper bound needs a value", false},
    {"{\"a\":[{\"numeric\":[\">\",0,\"<\",5,\"<\",6]}]}", "Too many terms in numeric range expression",
     "ER-compiler: at most two comparisons", false},
    {"{\"a\":[{\"numeric\":[\">\",5,\"<\",5]}]}", "Bottom must be less than top",
     "ER-number: empty range", false},
    {"{\"a\":[{\"numeric\":[\">=\",10,\"<=\",1]}]}", "Bottom must be less than top",
     "ER-number: inverted range", false},
    {"{\"a\":[{\"numeric\":[\"<\",5000000000.000001]}]}", "Value must be between -5.0E9 and 5.0E9",
     "UG-ops: limited to +5.0e9", false},
    {"{\"a\":[{\"numeric\":[\">\",-6e9]}]}", "Value must be between -5.0E9 and 5.0E9",
     "UG-ops: limited to -5.0e9", false},
    {"{\"a\":[{\"numeric\":[\"=\",0.0000001]}]}", "Only values upto 6 decimals are supported",
     "UG-ops: six digits to the right of the point", false},
    {"{\"a\":[{\"numeric\":[\"=\",1.23e-7]}]}", "Only values upto 6 decimals are supported",
     "UG-ops: six digits, exponent form", false},
    /* exists */
    {"{\"a\":[{\"exists\":\"true\"}]}", "exists match pattern must be either true or false.",
     "UG-ops: exists takes true or false", false},
    {"{\"a\":[{\"exists\":null}]}", "exists match pattern must be either true or false.",
     "UG-ops: exists takes true or false", false},
    /* cidr */
    {"{\"a\":[{\"cidr\":10}]}", "cidr match pattern must be a string", "UG-ops: cidr takes a string",
     false},
    {"{\"a\":[{\"cidr\":\"10.0.0.0\"}]}", "Malformed CIDR, one '/' required", "ER-cidr: needs a mask",
     false},
    {"{\"a\":[{\"cidr\":\"10.0.0.0/8/8\"}]}", "Malformed CIDR, one '/' required", "ER-cidr: one slash",
     false},
    {"{\"a\":[{\"cidr\":\"10.0.0.0/x\"}]}", "Malformed CIDR, mask bits must be an integer",
     "ER-cidr: integer mask", false},
    {"{\"a\":[{\"cidr\":\"10.0.0.0/-1\"}]}", "Malformed CIDR, mask bits must not be negative",
     "ER-cidr: mask not negative", false},
    {"{\"a\":[{\"cidr\":\"10.0.0.0/32\"}]}", "IPv4 mask bits must be < 32", "ER-cidr: IPv4 mask < 32",
     false},
    {"{\"a\":[{\"cidr\":\"2001:db8::/128\"}]}", "IPv6 mask bits must be < 128", "ER-cidr: IPv6 mask < 128",
     false},
    {"{\"a\":[{\"cidr\":\"300.0.0.0/8\"}]}", "Invalid IP address: 300.0.0.0", "ER-cidr: octet > 255",
     false},
    {"{\"a\":[{\"cidr\":\"example.com/8\"}]}", "Nonstandard IP address: example.com",
     "ER-cidr: not an IP literal", false},
    {"{\"a\":[{\"cidr\":\"2001:db8:::1/64\"}]}", "Invalid IP address", "ER-cidr: bad IPv6 literal", false},
    {"{\"a\":[{\"cidr\":\"010.0.0.0/8\"}]}", "Invalid IP address", "DIV: ambiguous leading-zero octet",
     false},
    /* wildcard */
    {"{\"a\":[{\"wildcard\":\"a**b\"}]}", "Consecutive wildcard characters at pos 2",
     "UG-ops: consecutive wildcard characters are not supported", false},
    {"{\"a\":[{\"wildcard\":\"\\\\d\"}]}", "Invalid escape character at pos 1",
     "UG-ops: backslash escapes only * and \\", false},
    {"{\"a\":[{\"wildcard\":\"abc\\\\\"}]}", "Invalid escape character at pos 4",
     "ER-wildcard: a trailing backslash", false},
    {"{\"a\":[{\"wildcard\":[\"*\"]}]}", "wildcard match pattern must be a string",
     "UG-ops: wildcard takes a string", false},
    /* $or and other $ names */
    {"{\"$or\":[{\"a\":[\"b\"]}]}", "There must have at least 2 Objects in $or relationship.",
     "ER-compiler: $or needs two objects", false},
    {"{\"$or\":[]}", "There must have at least 2 Objects in $or relationship.",
     "ER-compiler: empty $or", false},
    {"{\"$or\":{\"a\":[\"b\"]}}", "It must be an Array followed with $or.",
     "DIV: $or must be an array", false},
    {"{\"$or\":[{\"a\":[\"b\"]},[\"c\"]]}", "Only JSON object is allowed in array of $or relationship.",
     "ER-compiler: $or members are objects", false},
    {"{\"$or\":[{\"a\":[\"b\"]},{}]}", "Empty objects are not allowed at $or[1]",
     "ER-compiler: empty $or member", false},
    {"{\"$or\":[{\"a\":[\"b\"]},{\"numeric\":[\"c\"]}]}",
     "numeric is Ruler reserved fieldName which cannot be used inside $or.",
     "ER-const: reserved names inside $or", false},
    {"{\"$or\":[{\"a\":[\"b\"]},{\"x\":{\"exists\":[\"c\"]}}]}",
     "exists is Ruler reserved fieldName", "ER-const: reserved names anywhere inside $or", false},
    {"{\"$and\":[{\"a\":[\"b\"]},{\"c\":[\"d\"]}]}", "Field names starting with '$' are reserved",
     "DIV: only $or among $ names", false},
    {"{\"detail\":{\"$not\":[\"x\"]}}", "Field names starting with '$' are reserved",
     "DIV: only $or among $ names", false},
    {"{\"p\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]}]},"
     "\"q\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]}]},"
     "\"r\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]}]},"
     "\"s\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]}]},"
     "\"t\":{\"$or\":[{\"a\":[0]},{\"b\":[0]},{\"c\":[0]},{\"d\":[0]}]}}",
     "more than 1000 rule combinations", "ER-compiler: 4^5 = 1024 $or combinations", false},
};

#define N_VALID (sizeof valid_rows / sizeof valid_rows[0])
#define N_INVALID (sizeof invalid_rows / sizeof invalid_rows[0])

/* ------------------------------------------------------------------ */
/* Row runners.                                                       */

static struct json_object *parse_tree(const char *text)
{
    struct json_tokener *tok = json_tokener_new_ex(PATTERN_MAX_DEPTH + 1);
    assert_non_null(tok);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)strlen(text));
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

static void run_valid(void **state)
{
    const row *r = *state;
    char reason[512];
    int rc = pattern_validate_text(r->json, reason, sizeof reason);
    if (rc != 0)
        print_error("[%s] %s\n  rejected: %s\n", r->src, r->json, reason);
    assert_int_equal(rc, 0);
    assert_string_equal(reason, "");

    /* The tree API agrees. */
    struct json_object *obj = parse_tree(r->json);
    assert_non_null(obj);
    rc = pattern_validate(obj, reason, sizeof reason);
    if (rc != 0)
        print_error("[%s] %s\n  tree rejected: %s\n", r->src, r->json, reason);
    json_object_put(obj);
    assert_int_equal(rc, 0);
}

static void run_invalid(void **state)
{
    const row *r = *state;
    char reason[512];
    int rc = pattern_validate_text(r->json, reason, sizeof reason);
    if (rc != -1 || strstr(reason, r->expect) == NULL)
        print_error("[%s] %s\n  rc=%d reason: %s\n  wanted: %s\n", r->src, r->json, rc, reason,
                    r->expect);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(reason, r->expect));
    assert_non_null(strstr(reason, "Event pattern is not valid. Reason: "));
    assert_null(strchr(reason, '\n'));

    if (r->text_only)
        return;
    struct json_object *obj = parse_tree(r->json);
    assert_non_null(obj);
    rc = pattern_validate(obj, reason, sizeof reason);
    if (rc != -1 || strstr(reason, r->expect) == NULL)
        print_error("[%s] %s\n  tree rc=%d reason: %s\n", r->src, r->json, rc, reason);
    json_object_put(obj);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(reason, r->expect));
}

/* ------------------------------------------------------------------ */
/* Tests that do not fit a row.                                       */

/* Text of exactly n characters: {"k":["xxx..."]} */
static char *pattern_of_length(size_t n)
{
    const size_t overhead = strlen("{\"k\":[\"\"]}");
    assert_true(n > overhead);
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t fill = n - overhead;
    memcpy(s, "{\"k\":[\"", 7);
    memset(s + 7, 'x', fill);
    memcpy(s + 7 + fill, "\"]}", 4);
    assert_int_equal(strlen(s), n);
    return s;
}

/* UG-quotas: event pattern size, 2,048 characters by default. */
static void size_limit_text(void **state)
{
    (void)state;
    char reason[256];
    char *ok = pattern_of_length(PATTERN_MAX_CHARS);
    assert_int_equal(pattern_validate_text(ok, reason, sizeof reason), 0);
    char *big = pattern_of_length(PATTERN_MAX_CHARS + 1);
    assert_int_equal(pattern_validate_text(big, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "2049 characters, more than the 2048-character quota"));
    free(ok);
    free(big);
}

/* UG-quotas: characters, not bytes — a 3-byte UTF-8 character is one, a
 * 4-byte one is two (UTF-16 code units). */
static void size_counts_characters(void **state)
{
    (void)state;
    char reason[256];
    char *s = pattern_of_length(PATTERN_MAX_CHARS);
    /* replace 3 'x' (3 chars) by one U+2615 (3 bytes, 1 char): 2046 chars */
    memcpy(s + 7, "\xe2\x98\x95", 3);
    assert_int_equal(pattern_validate_text(s, reason, sizeof reason), 0);
    /* 4 'x' -> one U+1F600 (4 bytes, 2 units): 2046 chars, still fine */
    memcpy(s + 10, "\xf0\x9f\x98\x80", 4);
    assert_int_equal(pattern_validate_text(s, reason, sizeof reason), 0);
    free(s);
}

/* UG-quotas through the tree API: measured on the compact serialization. */
static void size_limit_tree(void **state)
{
    (void)state;
    char reason[256];
    const size_t overhead = strlen("{\"k\":[\"\"]}");
    char fill[PATTERN_MAX_CHARS + 2];
    memset(fill, 'y', sizeof fill - 1);
    fill[sizeof fill - 1] = '\0';

    struct json_object *root = json_object_new_object();
    struct json_object *arr = json_object_new_array();
    fill[PATTERN_MAX_CHARS - overhead] = '\0';
    json_object_array_add(arr, json_object_new_string(fill));
    json_object_object_add(root, "k", arr);
    assert_int_equal(pattern_validate(root, reason, sizeof reason), 0);
    json_object_put(root);

    root = json_object_new_object();
    arr = json_object_new_array();
    fill[PATTERN_MAX_CHARS - overhead] = 'y';
    fill[PATTERN_MAX_CHARS - overhead + 1] = '\0';
    json_object_array_add(arr, json_object_new_string(fill));
    json_object_object_add(root, "k", arr);
    assert_int_equal(pattern_validate(root, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "more than the 2048-character quota"));
    json_object_put(root);
}

/* Depth bound on the text path: 1001 nested containers. */
static void depth_limit_text(void **state)
{
    (void)state;
    char reason[256];
    size_t levels = PATTERN_MAX_DEPTH; /* arrays, plus the root object */
    char *s = malloc(levels * 2 + 8);
    assert_non_null(s);
    char *p = s;
    memcpy(p, "{\"a\":", 5);
    p += 5;
    memset(p, '[', levels);
    p += levels;
    memset(p, ']', levels);
    p += levels;
    memcpy(p, "}", 2);
    assert_true(strlen(s) <= PATTERN_MAX_CHARS);
    assert_int_equal(pattern_validate_text(s, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "nested too deeply"));
    free(s);
}

/* Depth bound on the tree API: a chain of objects deeper than the bound
 * is refused without recursing past it. */
static void depth_limit_tree(void **state)
{
    (void)state;
    char reason[256];
    struct json_object *leaf = json_object_new_array();
    json_object_array_add(leaf, json_object_new_string("x"));
    struct json_object *cur = json_object_new_object();
    json_object_object_add(cur, "k", leaf);
    for (int i = 0; i < PATTERN_MAX_DEPTH + 5; i++) {
        struct json_object *up = json_object_new_object();
        json_object_object_add(up, "k", cur);
        cur = up;
    }
    assert_int_equal(pattern_validate(cur, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "nested more than 1000 levels deep"));
    json_object_put(cur);
}

/* The tree API: what the compiler hands over. */
static void tree_api_inputs(void **state)
{
    (void)state;
    char reason[256];
    assert_int_equal(pattern_validate(NULL, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "Filter is not an object"));

    struct json_object *s = json_object_new_string("x");
    assert_int_equal(pattern_validate(s, reason, sizeof reason), -1);
    json_object_put(s);

    /* {"n":[{"numeric":[">", <n>]}]} with three ways to build <n> */
    struct json_object *nums[3] = {
        json_object_new_int64(42),
        json_object_new_double_s(0.1, "0.1"),
        json_object_new_double(0.1), /* prints 0.10000000000000001 */
    };
    const int want[3] = {0, 0, -1};
    for (int i = 0; i < 3; i++) {
        struct json_object *range = json_object_new_array();
        json_object_array_add(range, json_object_new_string(">"));
        json_object_array_add(range, nums[i]);
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "numeric", range);
        struct json_object *list = json_object_new_array();
        json_object_array_add(list, m);
        struct json_object *root = json_object_new_object();
        json_object_object_add(root, "n", list);
        assert_int_equal(pattern_validate(root, reason, sizeof reason), want[i]);
        if (want[i] != 0)
            assert_non_null(strstr(reason, "Only values upto 6 decimals are supported"));
        json_object_put(root);
    }
}

/* The reason is always NUL-terminated and one line; NULL or 0 is fine. */
static void reason_buffer(void **state)
{
    (void)state;
    const char *bad = "{\"a\\nb\":[{\"nope\":1}]}";
    assert_int_equal(pattern_validate_text(bad, NULL, 0), -1);
    char tiny[16];
    memset(tiny, 'Z', sizeof tiny);
    assert_int_equal(pattern_validate_text(bad, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    char reason[256];
    assert_int_equal(pattern_validate_text(bad, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "Unrecognized match type nope at a?b[0]"));
    assert_null(strchr(reason, '\n'));
    assert_int_equal(pattern_validate_text(NULL, reason, sizeof reason), -1);
    /* truncation never leaves half a UTF-8 character */
    const char *utf = "{\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\":{}}";
    char cut[42];
    assert_int_equal(pattern_validate_text(utf, cut, sizeof cut), -1);
    size_t n = strlen(cut);
    assert_true(n > 0);
    assert_true(((unsigned char)cut[n - 1] & 0x80) == 0 || ((unsigned char)cut[n - 1] & 0xC0) == 0x80);
}

/* ------------------------------------------------------------------ */

int main(void)
{
    enum { N_EXTRA = 7, N_TESTS = N_VALID + N_INVALID + N_EXTRA };
    static char names[N_VALID + N_INVALID][32];
    struct CMUnitTest tests[N_TESTS];
    size_t t = 0;
    for (size_t i = 0; i < N_VALID; i++, t++) {
        snprintf(names[t], sizeof names[t], "valid_%03zu", i + 1);
        tests[t] = (struct CMUnitTest){names[t], run_valid, NULL, NULL, (void *)&valid_rows[i]};
    }
    for (size_t i = 0; i < N_INVALID; i++, t++) {
        snprintf(names[t], sizeof names[t], "invalid_%03zu", i + 1);
        tests[t] = (struct CMUnitTest){names[t], run_invalid, NULL, NULL, (void *)&invalid_rows[i]};
    }
    const struct CMUnitTest extra[N_EXTRA] = {
        cmocka_unit_test(size_limit_text),  cmocka_unit_test(size_counts_characters),
        cmocka_unit_test(size_limit_tree),  cmocka_unit_test(depth_limit_text),
        cmocka_unit_test(depth_limit_tree), cmocka_unit_test(tree_api_inputs),
        cmocka_unit_test(reason_buffer),
    };
    for (size_t i = 0; i < N_EXTRA; i++)
        tests[t++] = extra[i];
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
