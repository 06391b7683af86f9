package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ballast.api.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * A client of one node's REST API; turns API errors into {@link CliException}s.
 *
 * <p>{@link HttpURLConnection}, not {@code java.net.http.HttpClient}: building the latter loads the TLS
 * stack even for http:// and costs 0.3-0.4 s of every command's start (measured), which is most of what a
 * user waits for.
 */
final class ApiClient {
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    private static final int READ_TIMEOUT_MS = 60_000;

    private final String endpoint;
    private final ObjectMapper json = Json.mapper();

    ApiClient(String endpoint) {
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        URI uri;
        try {
            uri = URI.create(this.endpoint);
        } catch (IllegalArgumentException e) {
            uri = null;
        }
        if (uri == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
            throw CliException.usage("endpoint '" + endpoint + "' is not an http URL; write e.g. http://127.0.0.1:9420");
        }
    }

    String endpoint() {
        return endpoint;
    }

    JsonNode get(String path) {
        return send("GET", path, null);
    }

    JsonNode post(String path, Object body) {
        return send("POST", path, write(body));
    }

    JsonNode delete(String path) {
        return send("DELETE", path, null);
    }

    <T> T as(JsonNode node, Class<T> type) {
        try {
            return json.treeToValue(node, type);
        } catch (IOException e) {
            throw new CliException(CliException.FAILURE, "unexpected answer from " + endpoint + ": " + e.getMessage());
        }
    }

    static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private JsonNode send(String method, String path, String requestBody) {
        int status;
        String text;
        try {
            HttpURLConnection connection = (HttpURLConnection) uri(path).toURL().openConnection();
            connection.setRequestMethod(method);
            connection.setConnectTimeout(CONNECT_TIMEOUT_MS);
            connection.setReadTimeout(READ_TIMEOUT_MS);
            if (requestBody != null) {
                connection.setDoOutput(true);
                connection.setRequestProperty("Content-Type", "application/json");
                try (OutputStream out = connection.getOutputStream()) {
                    out.write(requestBody.getBytes(StandardCharsets.UTF_8));
                }
            }
            status = connection.getResponseCode();
            InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
            text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (ConnectException e) {
            throw new CliException(CliException.FAILURE, "cannot reach Ballast at " + endpoint
                    + ": is a node running? Start one with 'ballast up', or set --endpoint");
        } catch (SocketTimeoutException e) {
            throw new CliException(CliException.FAILURE, "request to " + endpoint + " timed out: " + e.getMessage());
        } catch (IOException | IllegalArgumentException e) {
            throw new CliException(CliException.FAILURE, "request to " + endpoint + " failed: " + e.getMessage());
        }
        HttpResult response = new HttpResult(status, text);
        JsonNode body = parse(response.body());
        if (response.statusCode() >= 400) {
            JsonNode error = body == null ? null : body.path("error");
            String message = error != null && error.hasNonNull("message") ? error.get("message").asText()
                    : "HTTP " + response.statusCode() + " from " + endpoint;
            // Bad input and unknown names are the user's to fix (2); the rest is the cluster's (1).
            int exit = response.statusCode() == 400 || response.statusCode() == 404 ? CliException.USAGE
                    : CliException.FAILURE;
            throw new CliException(exit, message);
        }
        return body;
    }

    private record HttpResult(int statusCode, String body) {}

    private JsonNode parse(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return json.readTree(text);
        } catch (IOException e) {
            return null;
        }
    }

    private String write(Object body) {
        try {
            return json.writeValueAsString(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private URI uri(String path) {
        return URI.create(endpoint + path);
    }
}
