def tenancy(request):
    return {"access": getattr(request, "access", None)}
