window.cd38kgViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.cd38kgViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
