/**
 * Task payloads and results written and read with the application's own Jackson mapper:
 * {@link dev.procpool.core.json.JacksonPayloads}.
 */
package dev.procpool.core.json;
