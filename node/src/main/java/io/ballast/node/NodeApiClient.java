package io.ballast.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ballast.api.ErrorCodes;
import io.ballast.api.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * This daemon talking to another node's REST API: to join a cluster through any member, and to forward
 * a request that only another node can serve (attaching a volume there, say). An error the other node
 * reports comes back as the same {@link ApiException}; an unreachable node is UNAVAILABLE and named.
 */
final class NodeApiClient implements AutoCloseable {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private final ObjectMapper json = Json.mapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();

    /** POSTs {@code body} to {@code http://hostPort/path} and decodes the answer as {@code type}. */
    <T> T post(String node, String hostPort, String path, Object body, Class<T> type) {
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create("http://" + hostPort + path))
                    .timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)))
                    .build();
        } catch (IOException | IllegalArgumentException e) {
            throw ApiException.invalid("cannot reach node " + node + " at " + hostPort + ": " + e.getMessage());
        }
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "node " + node + " (" + hostPort + ") is unreachable: "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(ErrorCodes.UNAVAILABLE, "interrupted while asking node " + node, e);
        }
        try {
            if (response.statusCode() / 100 != 2) {
                JsonNode error = json.readTree(response.body()).path("error");
                String code = error.path("code").asText(ErrorCodes.INTERNAL);
                throw new ApiException(code, error.path("message").asText("node " + node + " answered HTTP "
                        + response.statusCode()));
            }
            return json.readValue(response.body(), type);
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.INTERNAL, "node " + node + " (" + hostPort + ") sent an answer this"
                    + " node cannot read (HTTP " + response.statusCode() + "); is it running another Ballast version?", e);
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
