using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Corral.Dashboard.Tests;

/// <summary>Who may see the dashboard and who may act through it: loopback by default, a named policy otherwise.</summary>
public sealed class AccessTests
{
    [Fact]
    public async Task Page_LoopbackRequest_ServedWithAStrictContentSecurityPolicy()
    {
        await using var app = await DashboardApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/corral/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"dashboard.js\" defer></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal); // nothing loads from elsewhere
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", html, StringComparison.Ordinal);   // CSP forbids inline styles
        Assert.DoesNotContain(" on", html.Replace(" one", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal); // no inline handlers
    }

    [Fact]
    public async Task Page_WithoutTrailingSlash_RedirectsSoRelativeUrlsResolve()
    {
        await using var app = await DashboardApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/corral");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/corral/", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("dashboard.js", "text/javascript")]
    [InlineData("dashboard.css", "text/css")]
    public async Task Assets_Embedded_ServedWithTypeAndETag(string name, string type)
    {
        await using var app = await DashboardApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/corral/" + name);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/corral/" + name);
        again.Headers.IfNoneMatch.Add(etag);
        using var cached = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
    }

    [Theory]
    [InlineData("/corral/")]
    [InlineData("/corral/events")]
    [InlineData("/corral/dashboard.js")]
    public async Task Endpoints_NonLoopbackRequestByDefault_Refused(string path)
    {
        await using var app = await DashboardApp.StartAsync();
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Test-Remote", "203.0.113.7");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("only requests from this machine", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_LoopbackAddressWithForeignHostHeader_RefusedAgainstDnsRebinding()
    {
        await using var app = await DashboardApp.StartAsync();
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/corral/");
        request.Headers.Host = "attacker.example:" + app.BaseAddress.Port;

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("LOCALHOST", true)]
    [InlineData("app.localhost", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.1.2.3", true)]
    [InlineData("[::1]", true)]
    [InlineData("::1", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("localhost.example.com", false)]
    [InlineData("example.com", false)]
    [InlineData("", false)]
    public void IsLoopbackHost_Names_OnlyLoopbackOnes(string host, bool expected)
    {
        Assert.Equal(expected, DashboardAccess.IsLoopbackHost(host));
    }

    [Fact]
    public void MapCorralDashboard_RemoteWithoutPolicy_ThrowsSayingWhatToSet()
    {
        var builder = WebApplication.CreateSlimBuilder();
        using var app = builder.Build();

        var e = Assert.Throws<InvalidOperationException>(() => app.MapCorralDashboard("/corral", new CorralDashboardOptions { AllowRemoteRequests = true }));

        Assert.Contains("AuthorizationPolicy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapCorralDashboard_CancelWithoutPolicyOrAntiforgery_Throws()
    {
        var builder = WebApplication.CreateSlimBuilder();
        using var app = builder.Build();

        var noPolicy = Assert.Throws<InvalidOperationException>(() => app.MapCorralDashboard("/corral", new CorralDashboardOptions { EnableCancel = true }));
        Assert.Contains("AuthorizationPolicy", noPolicy.Message, StringComparison.Ordinal);

        var noAntiforgery = Assert.Throws<InvalidOperationException>(() => app.MapCorralDashboard("/corral", new CorralDashboardOptions { EnableCancel = true, AuthorizationPolicy = "p" }));
        Assert.Contains("AddAntiforgery", noAntiforgery.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpdateInterval_OutOfRange_Throws()
    {
        var options = new CorralDashboardOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.UpdateInterval = TimeSpan.FromMilliseconds(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.UpdateInterval = TimeSpan.FromMinutes(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.ChartWindow = TimeSpan.FromSeconds(1));
        options.UpdateInterval = CorralDashboardOptions.MinUpdateInterval;
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.UpdateInterval);
    }

    [Fact]
    public async Task Page_RemoteOptInWithoutCredentials_Refused()
    {
        await using var app = await DashboardApp.StartAsync(new CorralDashboardOptions { AllowRemoteRequests = true, AuthorizationPolicy = DashboardApp.AdminPolicy }, auth: true);
        using var client = app.CreateClient();

        foreach (var user in new[] { null, "mallory" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/corral/");
            request.Headers.Add("X-Test-Remote", "203.0.113.7");
            if (user is not null)
            {
                request.Headers.Add("X-Test-User", user);
            }

            using var response = await client.SendAsync(request);

            Assert.True(
                response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden,
                $"user {user ?? "(none)"}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task Page_RemoteOptInWithAuthorizedUser_Allowed()
    {
        await using var app = await DashboardApp.StartAsync(new CorralDashboardOptions { AllowRemoteRequests = true, AuthorizationPolicy = DashboardApp.AdminPolicy }, auth: true);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/corral/");
        request.Headers.Add("X-Test-Remote", "203.0.113.7");
        request.Headers.Host = "dashboard.example.com";
        request.Headers.Add("X-Test-User", "alice");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Cancel_WithoutOptIn_DoesNotExist()
    {
        await using var app = await DashboardApp.StartAsync();
        using var client = app.CreateClient();

        using var token = await client.GetAsync("/corral/api/antiforgery");
        using var cancel = await client.PostAsync("/corral/api/cancel", new StringContent("{\"id\":1,\"reason\":\"x\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, token.StatusCode);
        Assert.True(cancel.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, cancel.StatusCode.ToString());
    }

    [Fact]
    public async Task Cancel_OptInWithoutAntiforgeryToken_RejectedAndNothingCancelled()
    {
        await using var tree = await KnownTree.StartAsync();
        await using var app = await StartCancellableAsync();
        using var client = app.CreateClient(cookies: true);
        var poll = FindId("poll-" + tree.Id);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/corral/api/cancel")
        {
            Content = new StringContent($"{{\"id\":{poll},\"reason\":\"no token\"}}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Test-User", "alice");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("antiforgery", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(TaskTreeNodeState.Running, Find("poll-" + tree.Id).State);
    }

    [Fact]
    public async Task Cancel_OptInWithTokenAndAuthorizedUser_CancelsTheScopeAndLogsIt()
    {
        await using var tree = await KnownTree.StartAsync();
        await using var app = await StartCancellableAsync();
        using var client = app.CreateClient(cookies: true);
        client.DefaultRequestHeaders.Add("X-Test-User", "alice");
        var poll = FindId("poll-" + tree.Id);

        using var tokenResponse = await client.GetAsync("/corral/api/antiforgery");
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        using var token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/corral/api/cancel")
        {
            Content = new StringContent($"{{\"id\":{poll},\"reason\":\"stuck on a dead replica\"}}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(token.RootElement.GetProperty("headerName").GetString()!, token.RootElement.GetProperty("token").GetString());
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entry = Assert.Single(app.Logs.Entries, e => e.EventId.Name == "ScopeCancelledFromDashboard");
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("alice", entry.Message, StringComparison.Ordinal);
        Assert.Contains("stuck on a dead replica", entry.Message, StringComparison.Ordinal);
        Assert.Contains(poll.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.Message, StringComparison.Ordinal);
        await tree.PollEnded.Within(); // the scope absorbed its cancel and ended
        Assert.Empty(TaskTree.Capture().FindAll(n => n.Name == "poll-" + tree.Id));
    }

    [Fact]
    public async Task Cancel_OptInWithoutAuthorizedUser_Refused()
    {
        await using var app = await StartCancellableAsync();
        using var client = app.CreateClient(cookies: true);

        using var token = await client.GetAsync("/corral/api/antiforgery");
        using var cancel = await client.PostAsync("/corral/api/cancel", new StringContent("{\"id\":1,\"reason\":\"x\"}", Encoding.UTF8, "application/json"));

        Assert.True(token.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, token.StatusCode.ToString());
        Assert.True(cancel.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, cancel.StatusCode.ToString());
    }

    private static Task<DashboardApp> StartCancellableAsync() => DashboardApp.StartAsync(
        new CorralDashboardOptions { EnableCancel = true, AuthorizationPolicy = DashboardApp.AdminPolicy, UpdateInterval = TimeSpan.FromMilliseconds(250) },
        auth: true,
        antiforgery: true);

    private static TaskTreeNode Find(string name) => Assert.Single(TaskTree.Capture().FindAll(n => n.Name == name));

    private static long FindId(string name) => Find(name).Id;
}
