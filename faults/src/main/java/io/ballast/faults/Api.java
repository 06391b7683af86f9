package io.ballast.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The REST API of one node, as the campaign uses it: JSON in, JSON out, short timeouts. */
final class Api {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    /** An answer that was not 2xx. */
    static final class ApiError extends IOException {
        final int status;

        ApiError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private final String base;
    private final Duration timeout;

    Api(String address, int port, Duration timeout) {
        this.base = "http://" + address + ":" + port;
        this.timeout = timeout;
    }

    JsonNode get(String path) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    JsonNode post(String path, Object body) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))));
    }

    JsonNode delete(String path) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE());
    }

    private JsonNode send(HttpRequest.Builder request) throws IOException {
        HttpResponse<String> response;
        try {
            response = HTTP.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
        JsonNode body = response.body().isBlank() ? JSON.nullNode() : JSON.readTree(response.body());
        if (response.statusCode() / 100 != 2) {
            throw new ApiError(response.statusCode(), base + ": HTTP " + response.statusCode() + ": "
                    + body.path("error").path("message").asText(response.body()));
        }
        return body;
    }
}
